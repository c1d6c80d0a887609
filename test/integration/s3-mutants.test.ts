// S3's state mutants and integrity check against a real restored bucket (the test bed's MinIO):
// each mutant changes what the objects, object and integrity checks read, its undo puts back the
// same bytes and metadata, and the integrity check names a changed object.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckRunner } from '../../src/checks/types.ts';
import type { S3StoreSpec } from '../../src/drill/types.ts';
import { engines } from '../../src/engines/index.ts';
import { listAll, objectSha256, s3Client } from '../../src/engines/s3/client.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { restoreStore, type RestoredStore } from '../support/restored-store.ts';

const fixtures = fileURLToPath(new URL('../../src/engines/s3/conformance/', import.meta.url));
const engine = engines.s3;
const spec: S3StoreSpec = { engine: 's3', restore: [{ bucket: 'conformance', artefact: join(fixtures, 'bucket') }] };

describe('s3: state mutants and the integrity check', function () {
  let restored: RestoredStore;
  const signal = new AbortController().signal;
  const run = (type: 'objects' | 'object' | 'integrity', check: object) => (engine.checks[type] as unknown as CheckRunner)({ type, store: 'store', ...check } as never, restored.checkContext('0'));

  /** Every bucket, and each object's sha256, size and metadata. */
  const snapshot = async () => {
    const client = await s3Client(restored.store.endpoint);
    const out: Record<string, unknown> = { buckets: (await client.listBuckets()).map((b) => b.name).sort() };
    for await (const o of listAll(client, 'conformance', '')) {
      const stat = await client.statObject('conformance', o.key);
      out[o.key] = { sha256: await objectSha256(client, 'conformance', o.key), size: o.size, metaData: stat.metaData };
    }
    return out;
  };

  before(async function () {
    requireBackends(this, 'minio');
    useTestbedBinaries();
    restored = await restoreStore(spec, fixtures);
  });
  after(async () => {
    await restored?.stop();
  });

  it('integrity: every restored object equals its mirror file', async () => {
    const result = await run('integrity', {});
    assert.equal(result.passed, true, result.message);
    assert.deepEqual(result.actual, { compared: 3, differ: 0, missing: 0 });
  });

  it('deletes and changes the first object of the bucket; checks notice, the integrity check names it, and the undo restores bytes and metadata', async () => {
    const mutants = await engine.mutants!.state(restored.store, spec, { databases: ['conformance'], signal });
    let first: { key: string; size: number } | undefined;
    for await (const o of listAll(s3Client(restored.store.endpoint), 'conformance', '')) {
      first = o;
      break;
    }
    assert.deepEqual(mutants.map((m) => m.id), [`delete-object:conformance/${first!.key}`, `change-object:conformance/${first!.key}`]);
    const before = await snapshot();
    const sha256 = (before[first!.key] as { sha256: string }).sha256;
    for (const m of mutants) {
      const undo = await m.apply(signal);
      const counted = await run('objects', { bucket: 'conformance', expect: { count: { equals: 3 } } });
      const object = await run('object', { bucket: 'conformance', key: first!.key, size: first!.size, sha256 });
      const integrity = await run('integrity', {});
      assert.equal(object.passed, false, `${m.id}: the object check still passes`);
      assert.equal(integrity.passed, false, `${m.id}: the integrity check still passes`);
      if (m.kind === 'delete-object') {
        assert.equal(counted.passed, false);
        assert.match(integrity.message, new RegExp(`conformance/${first!.key} is missing`));
      } else {
        assert.equal(counted.passed, true, 'a changed object keeps the count');
        assert.match(object.message, /sha256/);
        assert.doesNotMatch(object.message, /size/, 'same size, other bytes');
        assert.deepEqual(integrity.actual, { compared: 3, differ: 1, missing: 0 });
        assert.match(integrity.message, new RegExp(`1 of 3 object\\(s\\) differ from the mirror: conformance/${first!.key} sha256`));
      }
      await undo();
      assert.deepEqual(await snapshot(), before, `${m.id}: the undo left the bucket different`);
    }
    assert.equal((await run('integrity', {})).passed, true);
  });
});
