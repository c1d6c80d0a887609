import Dockerode from 'dockerode';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import { parseDuration } from '../../run/context.ts';
import type { GcAction } from '../types.ts';

/** Labels on every container and network a run creates; `gc` and the teardown sweep find them by these. */
export const LABEL_RUN = 'restoreproof.run';
export const LABEL_DRILL = 'restoreproof.drill';
export const LABEL_STORE = 'restoreproof.store';
export const LABEL_EXPIRES = 'restoreproof.expires-at';

/** How long a run's containers may live before `restoreproof gc` may remove them (RESTOREPROOF_CONTAINER_TTL, default 24h). */
export function expiresAt(now = new Date()): string {
  const ttl = parseDuration(process.env.RESTOREPROOF_CONTAINER_TTL ?? '') || 24 * 3_600_000;
  return new Date(now.getTime() + ttl).toISOString();
}

export function runLabels(runId: string, drillName: string): Record<string, string> {
  return { [LABEL_RUN]: runId, [LABEL_DRILL]: drillName, [LABEL_EXPIRES]: expiresAt() };
}

/** The engine address a client tries, as people write it. */
export function dockerHost(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** Is the engine on this machine? Then ports are published on 127.0.0.1 only, as the local runtime listens. */
export function engineIsLocal(): boolean {
  return /^(unix|npipe):\/\//.test(dockerHost()) || /^tcp:\/\/(127\.0\.0\.1|localhost)[:/]/.test(dockerHost());
}

let client: Dockerode | undefined;
/** One Dockerode for the process, configured from DOCKER_HOST (and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) like the docker CLI. */
export function docker(): Dockerode {
  client ??= new Dockerode();
  return client;
}

export type EngineProbe = { ok: true; host: string; version: string } | { ok: false; host: string; reason: string };

/** Asks the Docker engine for its version; never throws. */
export async function probeDockerEngine(timeoutMs = 5000): Promise<EngineProbe> {
  const host = dockerHost();
  let timer: NodeJS.Timeout | undefined;
  try {
    const version = await Promise.race([
      new Dockerode().version(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
      }),
    ]);
    return { ok: true, host, version: String(version.Version) };
  } catch (err) {
    return { ok: false, host, reason: errorMessage(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Wraps an error from the engine's API so the report says the engine went away, not a bare ECONNREFUSED. */
export function engineError(err: unknown, doing: string): Error {
  if (err instanceof RestoreproofError) return err;
  const message = errorMessage(err);
  if (/ECONNREFUSED|ENOENT|ECONNRESET|EPIPE|socket hang up|connect E/i.test(message)) {
    return new RestoreproofError('E_DOCKER_GONE', `the Docker engine at ${dockerHost()} stopped answering while ${doing}: ${message}`, {
      hint: 'the engine was stopped or restarted during the run; rerun the drill, then `restoreproof gc` removes what was left',
    });
  }
  return new RestoreproofError('E_DOCKER', `Docker engine at ${dockerHost()}: ${doing}: ${message}`);
}

export type ContainerGcAction = GcAction<'container' | 'network'>;

/**
 * Removes containers and networks labelled by restoreproof whose `restoreproof.expires-at` has
 * passed: leftovers of a harness that was killed before its teardown. Unexpired ones (a run in
 * progress, a store kept with --keep) and anything without our labels are left alone.
 */
export async function collectGarbage(options: { now?: Date; dryRun?: boolean } = {}): Promise<ContainerGcAction[]> {
  const now = options.now ?? new Date();
  const api = docker();
  const actions: ContainerGcAction[] = [];
  const expired = (labels: Record<string, string> | undefined) => {
    const at = Date.parse(labels?.[LABEL_EXPIRES] ?? '');
    return { at: labels?.[LABEL_EXPIRES] ?? '', expired: Number.isFinite(at) && at <= now.getTime(), valid: Number.isFinite(at) };
  };
  let containers: Dockerode.ContainerInfo[];
  let networks: Dockerode.NetworkInspectInfo[];
  try {
    containers = await api.listContainers({ all: true, filters: { label: [LABEL_RUN] } });
    networks = await api.listNetworks({ filters: { label: [LABEL_RUN] } });
  } catch (err) {
    throw engineError(err, 'listing containers');
  }
  for (const c of containers) {
    const e = expired(c.Labels);
    const base = { kind: 'container' as const, id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), run: c.Labels[LABEL_RUN] ?? '', expiresAt: e.at };
    if (!e.expired) {
      actions.push({ ...base, action: 'kept', reason: e.valid ? `expires at ${e.at}` : `no valid ${LABEL_EXPIRES} label` });
      continue;
    }
    try {
      if (!options.dryRun) await api.getContainer(c.Id).remove({ force: true, v: true });
      actions.push({ ...base, action: 'removed', reason: `expired at ${e.at}` });
    } catch (err) {
      actions.push({ ...base, action: 'failed', reason: errorMessage(err) });
    }
  }
  for (const n of networks) {
    const e = expired(n.Labels);
    const base = { kind: 'network' as const, id: n.Id, name: n.Name, run: n.Labels?.[LABEL_RUN] ?? '', expiresAt: e.at };
    if (!e.expired) {
      actions.push({ ...base, action: 'kept', reason: e.valid ? `expires at ${e.at}` : `no valid ${LABEL_EXPIRES} label` });
      continue;
    }
    try {
      if (!options.dryRun) await api.getNetwork(n.Id).remove();
      actions.push({ ...base, action: 'removed', reason: `expired at ${e.at}` });
    } catch (err) {
      actions.push({ ...base, action: 'failed', reason: errorMessage(err) });
    }
  }
  return actions;
}
