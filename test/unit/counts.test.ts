import assert from 'node:assert/strict';
import { countOnce } from '../../src/engines/counts.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';

describe('countOnce: one count per table or collection per store', () => {
  const store = () => ({ name: 'app' }) as StartedStore;

  it('reads a key once per store, however many checks ask; other keys and other stores read their own', async () => {
    const reads: string[] = [];
    const read = (what: string, n: number) => async () => (reads.push(what), n);
    const a = store();
    const b = store();
    assert.equal(await countOnce(a, 'db\0items', read('a items', 3)), 3);
    assert.equal(await countOnce(a, 'db\0items', read('a items again', 99)), 3);
    assert.equal(await countOnce(a, 'db\0other', read('a other', 5)), 5);
    assert.equal(await countOnce(b, 'db\0items', read('b items', 4)), 4);
    assert.deepEqual(reads, ['a items', 'a other', 'b items']);
  });

  it('checks asking at the same time share the one read', async () => {
    let reads = 0;
    const { promise, resolve } = Promise.withResolvers<number>();
    const a = store();
    const both = Promise.all([countOnce(a, 'k', () => (reads++, promise)), countOnce(a, 'k', () => (reads++, promise))]);
    resolve(7);
    assert.deepEqual(await both, [7, 7]);
    assert.equal(reads, 1);
  });

  it('a count that failed is asked again, so one bad moment does not fail every later check', async () => {
    const a = store();
    await assert.rejects(countOnce(a, 'k', async () => Promise.reject(new Error('connection reset'))), /connection reset/);
    assert.equal(await countOnce(a, 'k', async () => 12), 12);
  });
});
