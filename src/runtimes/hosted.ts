import type { EngineName } from '../drill/types.ts';
import { engines } from '../engines/index.ts';
import { RestoreproofError } from '../errors.ts';
import type { EngineServers } from './servers.ts';

/**
 * How a runtime of `kind` starts a store of `engine`: the engine's own declaration. The run
 * refuses a store its runtime does not host before it gets here; this names it if it does not.
 */
export function serverOf<K extends keyof EngineServers>(engine: EngineName, kind: K, runtime: string): NonNullable<EngineServers[K]> {
  const server = engines[engine].servers[kind];
  if (!server) throw new RestoreproofError('E_RUNTIME', `the ${runtime} runtime does not host ${engine} stores`, { hint: `run the drill on a runtime that hosts ${engine}` });
  return server;
}

/** The engines that declare a server of this kind: a runtime hosts exactly these. */
export function enginesWith(kind: keyof EngineServers): EngineName[] {
  return Object.values(engines).filter((engine) => engine.servers[kind]).map((engine) => engine.name);
}
