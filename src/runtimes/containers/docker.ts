import Dockerode from 'dockerode';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import type { GcAction } from '../types.ts';
import { gcDecision, harnessFromLabels, runStartedAt, type GcOptions } from '../shared/ownership.ts';
import { LABEL_EXPIRES, LABEL_RUN } from '../shared/labels.ts';

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

export type ContainerGcAction = GcAction<'container' | 'network' | 'volume'>;

interface Labelled {
  kind: ContainerGcAction['kind'];
  id: string;
  name: string;
  labels: Record<string, string>;
  /** When the engine created it (for a run label that is not a run id). */
  created: Date | undefined;
  remove(): Promise<unknown>;
}

/** Every container, network and volume labelled with `restoreproof.run` (of one run, when `runId` is given); containers first, as networks and volumes are in use until they go. */
async function labelledResources(runId?: string): Promise<Labelled[]> {
  const api = docker();
  const filters = { label: [runId ? `${LABEL_RUN}=${runId}` : LABEL_RUN] };
  try {
    const containers = await api.listContainers({ all: true, filters });
    const networks = await api.listNetworks({ filters });
    const volumes = (await api.listVolumes({ filters })).Volumes ?? [];
    return [
      ...containers.map((c) => ({ kind: 'container' as const, id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), labels: c.Labels ?? {}, created: new Date(c.Created * 1000), remove: () => api.getContainer(c.Id).remove({ force: true, v: true }) })),
      ...networks.map((n) => ({ kind: 'network' as const, id: n.Id, name: n.Name, labels: n.Labels ?? {}, created: n.Created ? new Date(n.Created) : undefined, remove: () => api.getNetwork(n.Id).remove() })),
      ...volumes.map((v) => ({ kind: 'volume' as const, id: v.Name, name: v.Name, labels: v.Labels ?? {}, created: (v as { CreatedAt?: string }).CreatedAt ? new Date((v as { CreatedAt?: string }).CreatedAt!) : undefined, remove: () => api.getVolume(v.Name).remove() })),
    ];
  } catch (err) {
    throw engineError(err, 'listing containers');
  }
}

const gone = (err: unknown) => (err as { statusCode?: number }).statusCode === 404;

/**
 * Removes containers, networks and volumes labelled by restoreproof whose run may go (see
 * gcDecision): expired by the `restoreproof.expires-at` recorded at creation, or older than
 * --older-than, and never while the harness that created them runs. Anything without our labels
 * is left alone.
 */
export async function collectGarbage(options: GcOptions = {}): Promise<ContainerGcAction[]> {
  const actions: ContainerGcAction[] = [];
  for (const r of await labelledResources()) {
    const run = r.labels[LABEL_RUN] ?? '';
    const recorded = r.labels[LABEL_EXPIRES] ?? '';
    const decision = gcDecision({ runId: run, expiresAt: recorded, startedAt: runStartedAt(run) ?? r.created, harness: harnessFromLabels(r.labels) }, options);
    const base = { kind: r.kind, id: r.id, name: r.name, run, expiresAt: recorded };
    if (!decision.remove) {
      actions.push({ ...base, action: 'kept', reason: decision.reason });
      continue;
    }
    try {
      if (!options.dryRun) await r.remove();
      actions.push({ ...base, action: 'removed', reason: decision.reason });
    } catch (err) {
      if (gone(err)) actions.push({ ...base, action: 'removed', reason: `${decision.reason} (already gone)` });
      else actions.push({ ...base, action: 'failed', reason: errorMessage(err) });
    }
  }
  return actions;
}

/** Removes everything labelled with the run id (the reaper, once the run's harness died); returns how many it found and what could not be removed. */
export async function removeRunResources(runId: string): Promise<{ found: number; left: string[] }> {
  const found = await labelledResources(runId);
  const left: string[] = [];
  for (const r of found) {
    try {
      await r.remove();
    } catch (err) {
      if (!gone(err)) left.push(`${r.kind} ${r.name}: ${errorMessage(err)}`);
    }
  }
  return { found: found.length, left };
}
