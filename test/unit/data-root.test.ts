import assert from 'node:assert/strict';
import { freemem, tmpdir } from 'node:os';
import { dataPlacement, MEMORY_ROOT, storeDataRoot } from '../../src/runtimes/local/data-root.ts';

describe('local runtime: where a store keeps its data', () => {
  it('auto: in memory when ten times its artefacts fit in a quarter of free memory, else the temp dir', async () => {
    const env = {};
    assert.equal(await storeDataRoot(1024 * 1024, env), MEMORY_ROOT, '/dev/shm is a tmpfs on this machine');
    assert.equal(await storeDataRoot(freemem(), env), tmpdir(), 'an artefact as large as free memory stays on disk');
  });
  it('disk and memory are obeyed whatever the size', async () => {
    assert.equal(await storeDataRoot(1, { RESTOREPROOF_LOCAL_DATA: 'disk' }), tmpdir());
    assert.equal(await storeDataRoot(freemem(), { RESTOREPROOF_LOCAL_DATA: 'memory' }), MEMORY_ROOT);
  });
  it('an unknown placement is a usage error naming the variable and the values', () => {
    assert.throws(() => dataPlacement({ RESTOREPROOF_LOCAL_DATA: 'ram' }), (err: Error & { code?: string; hint?: string }) => {
      assert.match(err.message, /RESTOREPROOF_LOCAL_DATA is "ram"/);
      assert.match(err.hint ?? '', /auto \(the default\), memory or disk/);
      return true;
    });
  });
});
