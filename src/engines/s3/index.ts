import { createHash } from 'node:crypto';
import { evaluate } from '../../checks/expectations.ts';
import type { CheckRunner } from '../../checks/types.ts';
import { ArtefactError, RestoreproofError, stepError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { ObjectPutter } from './put-object.ts';
import { inspectLocalArtefact, readArtefactFiles, type ArtefactInfo } from '../../sources/local.ts';
import { resolveSecret } from '../../drill/secrets.ts';
import type { ObjectCheckSpec, ObjectsCheckSpec, S3StoreSpec, StoreSpec } from '../../drill/types.ts';
import type { Engine } from '../types.ts';
import { clientForUrl, isMissingObject, listAll, objectSha256, s3Client } from './client.ts';
import { runRestoreSteps, type StepBase, type StepOutcome } from '../steps.ts';
import { minioLocalServer } from './local.ts';
import { mirroredBuckets } from './remote-sources.ts';
import { minioContainerServer } from './container.ts';
import { validateS3 } from './validate.ts';
import { bounded } from './bounded.ts';
import { s3Integrity } from './integrity.ts';
import { s3Mutants } from './mutants.ts';

function onlyBucket(spec: StoreSpec): string | undefined {
  return spec.engine === 's3' && spec.restore.length === 1 ? spec.restore[0]!.bucket : undefined;
}

const objects: CheckRunner<ObjectsCheckSpec> = async (check, context) => {
  const bucket = check.bucket ?? onlyBucket(context.drill.document.spec.stores[check.store]!);
  if (!bucket) throw new RestoreproofError('E_CHECK', `store ${check.store} restores several buckets; set bucket on the check`);
  let count = 0;
  let bytes = 0;
  for await (const o of listAll(s3Client(context.store.endpoint), bucket, check.prefix ?? '')) {
    count++;
    bytes += o.size;
  }
  const results = Object.entries(check.expect).map(([what, e]) => ({ what, ...evaluate(e!, what === 'count' ? count : bytes) }));
  const failed = results.filter((r) => !r.passed);
  return {
    passed: failed.length === 0,
    expected: results.map((r) => `${r.what} ${r.expected}`).join(', '),
    actual: { count, bytes },
    message: `${count} objects, ${bytes} bytes under ${bucket}/${check.prefix ?? ''}${failed.length ? `: ${failed.map((f) => `${f.what} ${f.reason}`).join('; ')}` : ''}`,
  };
};

const object: CheckRunner<ObjectCheckSpec> = async (check, context) => {
  const bucket = check.bucket ?? onlyBucket(context.drill.document.spec.stores[check.store]!);
  if (!bucket) throw new RestoreproofError('E_CHECK', `store ${check.store} restores several buckets; set bucket on the check`);
  const client = await s3Client(context.store.endpoint);
  const expected = [`${bucket}/${check.key} exists`, check.size !== undefined ? `size ${check.size}` : '', check.sha256 ? `sha256 ${check.sha256.slice(0, 12)}…` : ''].filter(Boolean).join(', ');
  let stat;
  try {
    stat = await client.statObject(bucket, check.key);
  } catch (err) {
    if (isMissingObject(err)) return { passed: false, expected, actual: null, message: `${bucket}/${check.key} does not exist` };
    throw err;
  }
  const problems: string[] = [];
  if (check.size !== undefined && stat.size !== check.size) problems.push(`size ${stat.size} ≠ ${check.size}`);
  let sha256: string | undefined;
  if (check.sha256) {
    sha256 = await objectSha256(client, bucket, check.key);
    if (sha256 !== check.sha256) problems.push(`sha256 ${sha256.slice(0, 12)}… ≠ ${check.sha256.slice(0, 12)}…`);
  }
  return { passed: problems.length === 0, expected, actual: { size: stat.size, etag: stat.etag, ...(sha256 ? { sha256 } : {}) }, message: problems.join('; ') || `${bucket}/${check.key}: ${stat.size} bytes` };
};

function stepBase(spec: S3StoreSpec, index: number): StepBase {
  const step = spec.restore[index]!;
  return { step: index, artefact: step.artefact ?? `s3://${step.source!.bucket}/${step.prefix ?? ''}`, format: step.artefact ? 'mirror' : 'bucket', tool: 's3 put', args: [`s3://${step.bucket}`] };
}

/** Objects up to this size are read whole and put in one signed request (at most `concurrency` of them in memory). */
const WHOLE_OBJECT_MAX = 1024 * 1024;

/** Puts every object of one step; a failure keeps the counts of what did arrive. */
async function restoreStep(store: StartedStore, spec: S3StoreSpec, index: number, drillDir: string, artefact: ArtefactInfo | undefined, signal: AbortSignal): Promise<StepOutcome> {
  const step = spec.restore[index]!;
  const prefix = step.prefix ?? '';
  const manifest = createHash('sha256');
  let count = 0;
  let bytes = 0;
  const base = stepBase(spec, index);
  try {
    const client = await s3Client(store.endpoint);
    // Only ever a bucket this run creates, in a server this run started.
    await client.makeBucket(step.bucket, 'us-east-1');
    const concurrency = step.concurrency ?? 8;
    const record = (key: string, size: number, etag: string) => {
      count++;
      bytes += size;
      manifest.update(`${key}\t${size}\t${etag}\n`);
    };
    if (artefact) {
      // Each object's bytes are read once: what is uploaded also feeds the mirror's digest. A small
      // object is read whole and its one sha256 also signs its PUT; a large one streams through the client.
      const putter = new ObjectPutter(store.endpoint, concurrency);
      try {
        await bounded(readArtefactFiles(artefact, (f) => f.relative.startsWith(prefix), signal), concurrency, async (f) => {
          if (f.size <= WHOLE_OBJECT_MAX) {
            const { content, sha256 } = await f.readAll();
            record(f.relative, content.length, await putter.put(step.bucket, f.relative, content, sha256, signal));
          } else {
            record(f.relative, f.size, (await f.read((stream) => client.putObject(step.bucket, f.relative, stream, f.size))).etag);
          }
        }, signal);
      } finally {
        putter.close();
      }
    } else {
      const source = step.source!;
      const accessKey = source.accessKey ? await resolveSecret(source.accessKey, drillDir, `${store.name} source accessKey`) : (process.env.AWS_ACCESS_KEY_ID ?? '');
      const secretKey = source.secretKey ? await resolveSecret(source.secretKey, drillDir, `${store.name} source secretKey`) : (process.env.AWS_SECRET_ACCESS_KEY ?? '');
      const from = await clientForUrl(source.endpoint, accessKey, secretKey, source.region);
      let seen = 0;
      await bounded(listAll(from, source.bucket, prefix), concurrency, async (o) => {
        seen++;
        const result = await client.putObject(step.bucket, o.key, await from.getObject(source.bucket, o.key), o.size);
        record(o.key, o.size, result.etag);
      }, signal);
      if (seen === 0) throw new ArtefactError(base.artefact, `no objects under s3://${source.bucket}/${prefix} at ${source.endpoint}`, 'check the bucket, the prefix and the credentials');
    }
    return { status: 'passed', exitCode: 0, stderr: '', details: { objects: count, bytes, manifestSha256: manifest.digest('hex') } };
  } catch (err) {
    return { status: 'failed', exitCode: null, stderr: '', ...stepError(err), details: { objects: count, bytes } };
  }
}

export const s3Engine: Engine<S3StoreSpec> = {
  name: 's3',
  servers: { local: minioLocalServer, container: minioContainerServer },
  remoteSources: mirroredBuckets,
  capabilities: { formats: ['mirror', 'bucket'], multipleDatabases: false, restoresBeforeStart: false, checksNameDatabase: false },
  checks: { objects, object, integrity: s3Integrity } as Engine['checks'],
  mutants: s3Mutants,
  validate: validateS3,
  async inspect(spec, step, drillDir, options) {
    const ref = spec.restore[step]!;
    if (!ref.artefact) return undefined;
    const info = await inspectLocalArtefact(ref.artefact, drillDir, { ...options, directory: true });
    if (info.kind !== 'directory') throw new ArtefactError(ref.artefact, 'a bucket restore needs a directory in the mc mirror layout (one file per object)');
    return { store: '', step, info, format: 'mirror', readByRestore: true };
  },
  describeRestore: (spec, artefacts) =>
    spec.restore.map((step, i) => {
      const a = artefacts.find((x) => x.step === i);
      const from = a ? `${a.info.path}${a.info.entries === undefined ? '' : ` (${a.info.entries} files)`}` : `s3://${step.source?.bucket}/${step.prefix ?? ''} at ${step.source?.endpoint}`;
      return `create bucket ${step.bucket}; put every object of ${from}${step.prefix ? ` under ${step.prefix}` : ''}, ${step.concurrency ?? 8} at a time`;
    }),
  async restore(store, spec, artefacts, context) {
    return runRestoreSteps(spec.restore.map((step, index) => ({
      base: stepBase(spec, index),
      title: `put objects into ${step.bucket}`,
      run: () => restoreStep(store, spec, index, context.drillDir, artefacts.find((x) => x.step === index)?.info, context.signal),
    })), context);
  },
  defaultDatabase: () => '',
  plannedFormat: () => 'directory',
  objects: {
    listObjects: (store, bucket, prefix) => listAll(s3Client(store.endpoint), bucket, prefix),
    openObject: async (store, bucket, key) => (await s3Client(store.endpoint)).getObject(bucket, key),
    defaultBucket: onlyBucket,
  },
};
