import { join } from 'node:path';
import type { RedisStoreSpec } from '../../drill/types.ts';
import type { EngineConformance } from '../conformance.ts';

/** conformance/items.rdb: a snapshot (redis-server SAVE) of three string keys item:1 to item:3. */
export const conformance: EngineConformance<RedisStoreSpec> = {
  store: (fixtures) => ({ engine: 'redis', restore: [{ artefact: join(fixtures, 'items.rdb') }] }),
  count: (expect) => ({ type: 'keys', pattern: 'item:*', expect }),
  expected: 3,
};
