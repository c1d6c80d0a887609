import { join } from 'node:path';
import type { StoreSpecOf } from '../../drill/types.ts';
import type { EngineConformance } from '../conformance.ts';

/** conformance/items.sql: `mariadb-dump --databases conformance` of one table with three rows. */
export const conformance: EngineConformance<StoreSpecOf<'mariadb'>> = {
  store: (fixtures) => ({ engine: 'mariadb', restore: [{ artefact: join(fixtures, 'items.sql') }] }),
  count: (expect) => ({ type: 'count', database: 'conformance', table: 'items', expect }),
  expected: 3,
};
