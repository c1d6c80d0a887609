// The damage `restoreproof mutate` does to a restored bucket: one object deleted, one object's bytes
// changed, per bucket and prefix restored. The original is first copied server-side into a stash
// bucket of the run-owned server, and the undo copies it back (bytes and metadata as they were).
import { Transform } from 'node:stream';
import type * as Minio from 'minio';
import type { S3StoreSpec } from '../../drill/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { loadMinio } from '../../util/drivers.ts';
import type { EngineMutants, StateMutant, StateMutantKind } from '../types.ts';
import { listAll, s3Client } from './client.ts';

const STASH = 'restoreproof-mutant-stash';

async function copy(client: Minio.Client, from: [string, string], to: [string, string]): Promise<void> {
  const { CopySourceOptions, CopyDestinationOptions } = await loadMinio();
  await client.copyObject(new CopySourceOptions({ Bucket: from[0], Object: from[1] }), new CopyDestinationOptions({ Bucket: to[0], Object: to[1] }));
}

/** The object's first byte inverted (an empty object gains one byte): same size, other content. */
function flipFirstByte(): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (first && chunk.length) {
        first = false;
        const changed = Buffer.from(chunk);
        changed[0] = changed[0]! ^ 0xff;
        return done(null, changed);
      }
      done(null, chunk);
    },
  });
}

/** Stashes the object, damages it, and returns the undo that puts the stashed copy back. */
async function stashed(store: StartedStore, bucket: string, key: string, damage: (client: Minio.Client) => Promise<void>): Promise<() => Promise<void>> {
  const client = await s3Client(store.endpoint);
  if (!(await client.bucketExists(STASH))) await client.makeBucket(STASH, 'us-east-1');
  await copy(client, [bucket, key], [STASH, key]);
  await damage(client);
  return async () => {
    await copy(client, [STASH, key], [bucket, key]);
    await client.removeObject(STASH, key);
    await client.removeBucket(STASH);
  };
}

function objectMutant(store: StartedStore, kind: StateMutantKind, bucket: string, object: { key: string; size: number }, what: string, hint: string, damage: (client: Minio.Client) => Promise<void>): StateMutant {
  const target = `${bucket}/${object.key}`;
  return { id: `${kind}:${target}`, kind, target, description: `${what} ${target}`, hint, apply: () => stashed(store, bucket, object.key, damage) };
}

export const s3Mutants: EngineMutants<S3StoreSpec> = {
  kinds: ['delete-object', 'change-object'],
  async state(store, spec) {
    const client = await s3Client(store.endpoint);
    const mutants: StateMutant[] = [];
    const seen = new Set<string>();
    for (const step of spec.restore) {
      const prefix = step.prefix ?? '';
      if (seen.has(`${step.bucket}\u0000${prefix}`)) continue;
      seen.add(`${step.bucket}\u0000${prefix}`);
      // The first object in key order (ListObjectsV2's, UTF-8 bytes): the same one on every run of the same backup.
      let first: { key: string; size: number } | undefined;
      for await (const o of listAll(client, step.bucket, prefix)) {
        first = o;
        break;
      }
      if (!first) continue;
      const { key, size } = first;
      const where = `${step.bucket}/${prefix}`;
      mutants.push(
        objectMutant(store, 'delete-object', step.bucket, first, 'deleting the object', `add an objects check on ${where} with the count the mirror holds, or an integrity check`, (c) => c.removeObject(step.bucket, key)),
        objectMutant(store, 'change-object', step.bucket, first, 'changing the bytes of', `add an integrity check (each object's sha256 against the mirror), or an object check with its sha256`, async (c) => {
          const changed = size === 0 ? Buffer.from('x') : (await c.getObject(STASH, key)).pipe(flipFirstByte());
          await c.putObject(step.bucket, key, changed, size || 1);
        }),
      );
    }
    return mutants;
  },
};
