import { join } from 'node:path';
import type { InfluxStoreSpec } from '../../drill/types.ts';
import type { EngineConformance } from '../conformance.ts';

/** conformance/backup: `influxd backup -portable -database conformance` of three points of measurement items. */
export const conformance: EngineConformance<InfluxStoreSpec> = {
  store: (fixtures) => ({ engine: 'influxdb', restore: [{ artefact: join(fixtures, 'backup') }] }),
  count: (expect) => ({ type: 'points', database: 'conformance', measurement: 'items', expect }),
  expected: 3,
};
