import { join } from 'node:path';
import type { PostgresStoreSpec } from '../../drill/types.ts';
import type { EngineConformance } from '../conformance.ts';

/** conformance/items.sql: a plain SQL backup of one table with three rows. */
export const conformance: EngineConformance<PostgresStoreSpec> = {
  store: (fixtures) => ({ engine: 'postgres', restore: [{ artefact: join(fixtures, 'items.sql'), database: 'conformance' }] }),
  count: (expect) => ({ type: 'count', database: 'conformance', table: 'items', expect }),
  expected: 3,
};
