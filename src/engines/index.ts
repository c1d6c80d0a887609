import type { StoreSpec } from '../spec/types.ts';
import { postgresEngine } from './postgres/index.ts';
import type { Engine } from './types.ts';

/** Plain map; a new engine is one entry. */
export const engines: { [E in StoreSpec['engine']]: Engine<Extract<StoreSpec, { engine: E }>> } = {
  postgres: postgresEngine,
};

export function engineFor(spec: StoreSpec): Engine {
  return engines[spec.engine] as Engine;
}
