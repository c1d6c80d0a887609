import type { StoreSpec } from '../drill/types.ts';
import { influxEngine } from './influxdb/index.ts';
import { mongoEngine } from './mongodb/index.ts';
import { postgresEngine } from './postgres/index.ts';
import { redisEngine } from './redis/index.ts';
import { s3Engine } from './s3/index.ts';
import type { Engine } from './types.ts';

/** Plain map; a new engine is one entry. */
export const engines: { [E in StoreSpec['engine']]: Engine<Extract<StoreSpec, { engine: E }>> } = {
  postgres: postgresEngine,
  mongodb: mongoEngine,
  s3: s3Engine,
  redis: redisEngine,
  influxdb: influxEngine,
};

export function engineFor(spec: StoreSpec): Engine {
  return engines[spec.engine] as unknown as Engine;
}
