// The integrity check of an S3 store: each restored object's sha256 against its file in the
// mirror artefact, both streamed, a few objects at a time; a missing or different object is named.
import { realpath } from 'node:fs/promises';
import type { CheckRunner } from '../../checks/types.ts';
import type { S3StoreSpec, StoreCheckSpec } from '../../drill/types.ts';
import { walkFiles } from '../../sources/local.ts';
import { sha256File } from '../../util/hash.ts';
import { bounded } from './bounded.ts';
import { isMissingObject, objectSha256, s3Client } from './client.ts';

type IntegrityCheckSpec = Extract<StoreCheckSpec, { type: 'integrity' }>;

/** Objects compared at once: each holds a file read and an object download. */
const AT_ONCE = 4;
const NAMED = 10;

export const s3Integrity: CheckRunner<IntegrityCheckSpec> = async (check, context) => {
  const spec = context.drill.document.spec.stores[check.store] as S3StoreSpec;
  const client = await s3Client(context.store.endpoint);
  const mirrors = context.artefacts.filter((a) => spec.restore[a.step]?.artefact);
  const expected = "every object's sha256 equals its file in the mirror";
  if (mirrors.length === 0) return { passed: false, expected, actual: null, message: `store ${check.store} restores no mirror artefact to compare its objects with (a bucket copied from another endpoint has none)` };
  let compared = 0;
  let differ = 0;
  let missing = 0;
  const named: string[] = [];
  for (const a of mirrors) {
    const step = spec.restore[a.step]!;
    const prefix = step.prefix ?? '';
    const files = async function* () {
      for await (const f of walkFiles(await realpath(a.info.path), step.artefact!)) if (f.relative.startsWith(prefix)) yield f;
    };
    await bounded(files(), AT_ONCE, async (f) => {
      const [want, got] = await Promise.all([
        sha256File(f.path, context.signal),
        objectSha256(client, step.bucket, f.relative).catch((err: unknown) => {
          if (isMissingObject(err)) return undefined;
          throw err;
        }),
      ]);
      compared++;
      if (got === want) return;
      if (got === undefined) missing++;
      else differ++;
      if (named.length < NAMED) named.push(got === undefined ? `${step.bucket}/${f.relative} is missing` : `${step.bucket}/${f.relative} sha256 ${got.slice(0, 12)}… ≠ mirror ${want.slice(0, 12)}…`);
    }, context.signal);
  }
  const bad = differ + missing;
  return {
    passed: compared > 0 && bad === 0,
    expected,
    actual: { compared, differ, missing },
    message: compared === 0
      ? 'the mirror holds no file to compare'
      : bad === 0
        ? `all ${compared} object(s) equal their mirror files (sha256)`
        : `${bad} of ${compared} object(s) differ from the mirror: ${named.join('; ')}${bad > named.length ? `; ${bad - named.length} more` : ''}`,
  };
};
