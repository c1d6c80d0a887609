import assert from 'node:assert/strict';
import { metadataCountIsExact } from '../../src/engines/mongodb/counts.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';

describe('mongodb: which count a restored store is read with', () => {
  const store = (version: string) => ({ name: 'mongo', engine: 'mongodb', version }) as unknown as StartedStore;
  it('mongod (a standalone the run started and filled with mongorestore): its catalogue count', () => {
    assert.equal(metadataCountIsExact(store('7.0.14')), true);
  });
  it('FerretDB, as the local and container runtimes name it: a counting scan', () => {
    assert.equal(metadataCountIsExact(store('7.0.77 (FerretDB)')), false);
    assert.equal(metadataCountIsExact(store('7.0.77 (FerretDB v1.24.2)')), false);
  });
});
