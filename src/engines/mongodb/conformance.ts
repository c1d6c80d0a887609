import { join } from 'node:path';
import type { MongoStoreSpec } from '../../drill/types.ts';
import type { EngineConformance } from '../conformance.ts';

/** conformance/items.archive: `mongodump --db conformance --archive` of one collection with three documents. */
export const conformance: EngineConformance<MongoStoreSpec> = {
  store: (fixtures) => ({ engine: 'mongodb', restore: [{ artefact: join(fixtures, 'items.archive') }] }),
  count: (expect) => ({ type: 'count', database: 'conformance', collection: 'items', expect }),
  expected: 3,
  testbedBackend: 'mongo',
};
