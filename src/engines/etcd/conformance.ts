import { join } from 'node:path';
import type { StoreSpecOf } from '../../drill/types.ts';
import type { EngineConformance } from '../conformance.ts';

/** conformance/items.db: `etcdctl snapshot save` (etcd 3.4) of keys /items/1 to /items/3 and /other/x. */
export const conformance: EngineConformance<StoreSpecOf<'etcd'>> = {
  store: (fixtures) => ({ engine: 'etcd', restore: [{ artefact: join(fixtures, 'items.db') }] }),
  count: (expect) => ({ type: 'etcdKeys', prefix: '/items/', expect }),
  expected: 3,
};
