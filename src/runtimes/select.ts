import { EnvironmentError, ExitCode, RestoreproofError } from '../errors.ts';
import type { RuntimeChoice, RuntimeName } from '../drill/types.ts';

export interface RuntimeSelection {
  requested: RuntimeChoice;
  chosen: RuntimeName;
  reason: string;
}

/** The runtime when neither the CLI nor the drill names one: RESTOREPROOF_RUNTIME, else `auto`. */
export function defaultRuntime(env: Record<string, string | undefined> = process.env): RuntimeChoice {
  const value = env.RESTOREPROOF_RUNTIME;
  if (!value) return 'auto';
  if (value === 'auto' || value === 'local' || value === 'containers' || value === 'kubernetes') return value;
  throw new RestoreproofError('E_RUNTIME', `RESTOREPROOF_RUNTIME=${value} is not a runtime; use auto, local, containers or kubernetes`, { exitCode: ExitCode.usage });
}

/**
 * Resolves `auto` (containers when a Docker engine answers, else local) and checks that an
 * explicit `containers` has an engine: without one the drill could not run (exit 3), naming the
 * DOCKER_HOST that was tried.
 */
export async function selectRuntime(requested: RuntimeChoice): Promise<RuntimeSelection> {
  if (requested === 'local') return { requested, chosen: 'local', reason: 'asked for' };
  const probe = await (await import('./containers/docker.ts')).probeDockerEngine();
  if (requested === 'containers') {
    if (!probe.ok) {
      throw new EnvironmentError('E_NO_DOCKER', `runtime containers needs a Docker engine, and none answers at DOCKER_HOST=${probe.host}: ${probe.reason}`, {
        hint: 'start Docker or set DOCKER_HOST to a running engine, or use --runtime local',
      });
    }
    return { requested, chosen: 'containers', reason: `Docker ${probe.version} answers at ${probe.host}` };
  }
  return probe.ok
    ? { requested, chosen: 'containers', reason: `a Docker engine (${probe.version}) answers at ${probe.host}` }
    : { requested, chosen: 'local', reason: `no Docker engine answers at ${probe.host} (${probe.reason})` };
}
