import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type Dockerode from 'dockerode';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import { parseDuration } from '../../util/duration.ts';
import { LogRing } from '../../util/log-ring.ts';
import { redact } from '../../util/redact.ts';
import type { StoreAddress } from '../../app/env.ts';
import type { AppRequest, AppTaskResult, ResourceRecord, Runtime, StartedApp, StartedStore } from '../types.ts';
import { docker, dockerHost, engineError, engineIsLocal } from './docker.ts';
import { LABEL_ROLE, runLabels } from '../shared/labels.ts';
import { probePort } from '../shared/probe-port.ts';
import { appRoot, defaultAppPort, resolveAppImage } from '../shared/images.ts';
import { runNetwork, type RunNetwork } from './network.ts';
import { ContainerStore, copyContentIntoContainer, copyIntoContainer, demuxLogs } from './store.ts';
import { Teardown } from '../shared/teardown.ts';

/** The app's environment from the drill, as a file in its container (never in its config, which `docker inspect` shows). */
export const appEnvFile = '/run/secrets/restoreproof/app.env';
/** Exports the file's variables, then runs the app's own entrypoint and command. */
const envWrapper = ['/bin/sh', '-c', `set -a && . ${appEnvFile} && set +a && exec "$@"`, 'restoreproof-app-env'];

/** `NAME='value'` lines for sh (names are checked by the drill schema). */
export function shellEnvFile(env: Record<string, string>): string {
  return Object.entries(env).map(([name, value]) => `${name}='${value.replace(/'/g, "'\\''")}'\n`).join('');
}

/** On the run's network a store is reached by its name (the network alias) on its port inside the container. */
const networkAddress: StoreAddress = (store: StartedStore) =>
  store instanceof ContainerStore ? { host: store.name, port: store.containerPort } : { host: store.endpoint.host, port: store.endpoint.port };

/** The engine's host as seen from here, for a remote engine's published ports. */
function engineHost(): string {
  if (engineIsLocal()) return '127.0.0.1';
  try {
    return new URL(dockerHost()).hostname || '127.0.0.1';
  } catch {
    return '127.0.0.1';
  }
}

function follow(container: Dockerode.Container, ring: LogRing): Promise<NodeJS.ReadableStream | undefined> {
  return container.logs({ follow: true, stdout: true, stderr: true }).then(
    (stream) => {
      const sink = new PassThrough();
      sink.setEncoding('utf8').on('data', (d: string) => ring.push(d));
      docker().modem.demuxStream(stream, sink, sink);
      stream.on('error', () => {});
      return stream;
    },
    () => undefined,
  );
}

interface Created {
  container: Dockerode.Container;
  record: ResourceRecord;
  network: RunNetwork;
}

/**
 * Creates the app's (or its migration's) container on the run's network, labelled with the run id,
 * with `cwd` copied in; pulls the image once if the engine lacks it. The network reference it takes
 * is released by `removeContainer`.
 */
async function createAppContainer(request: Omit<AppRequest, 'spec' | 'env'>, options: { spec: { image?: string; command?: string[]; cwd?: string }; role: 'app' | 'migrate'; env: Record<string, string>; secretEnv: Record<string, string>; port?: number }): Promise<Created> {
  const { image } = resolveAppImage(options.spec);
  // The wrapper replaces the image's entrypoint, so it runs that entrypoint and command itself.
  const config = await imageConfig(image);
  const command = [...(config.Entrypoint ?? []), ...(options.spec.command ?? config.Cmd ?? [])];
  if (!command.length) throw new RestoreproofError('E_APP_CONFIG', `app image ${image} has no entrypoint or command, and spec.app.command is not set`);
  const network = runNetwork(request.runId, request.drillName, request.egress);
  const record: ResourceRecord = { kind: 'container', id: '', store: 'app', image };
  const networkId = await network.join();
  const portKey = options.port ? `${options.port}/tcp` : undefined;
  const create: Dockerode.ContainerCreateOptions = {
    name: `restoreproof-${request.runId}-${options.role === 'app' ? 'spec-app' : 'spec-app-migrate'}`,
    Image: image,
    Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...runLabels(request.runId, request.drillName), [LABEL_ROLE]: options.role },
    Entrypoint: envWrapper,
    Cmd: command,
    ...(options.spec.cwd ? { WorkingDir: appRoot } : {}),
    ...(portKey ? { ExposedPorts: { [portKey]: {} } } : {}),
    HostConfig: {
      NetworkMode: networkId,
      // An internal run network publishes nothing: the harness reaches the app at its address there.
      ...(portKey && !network.internal ? { PortBindings: { [portKey]: [{ HostIp: engineIsLocal() ? '127.0.0.1' : '', HostPort: '' }] } } : {}),
    },
    NetworkingConfig: { EndpointsConfig: { [network.name]: { Aliases: [options.role === 'app' ? 'app' : 'app-migrate'] } } },
  };
  let container: Dockerode.Container;
  try {
    container = await docker().createContainer(create);
  } catch (err) {
    await network.release();
    throw engineError(err, `creating the app container (${image})`);
  }
  record.id = container.id;
  const created = { container, record, network };
  try {
    await copyContentIntoContainer(container, appEnvFile, shellEnvFile(options.secretEnv), 0o444);
    if (options.spec.cwd) await copyIntoContainer(container, resolve(request.drillDir, options.spec.cwd), appRoot);
  } catch (err) {
    await removeContainer(created);
    throw err;
  }
  return created;
}

/** The image's entrypoint and command; pulls it once if the engine lacks it. */
async function imageConfig(image: string): Promise<{ Entrypoint?: string[] | null; Cmd?: string[] | null }> {
  const inspect = async () => ((await docker().getImage(image).inspect()).Config ?? {}) as { Entrypoint?: string[] | null; Cmd?: string[] | null };
  try {
    try {
      return await inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      await pull(image);
      return await inspect();
    }
  } catch (err) {
    if (err instanceof RestoreproofError) throw err;
    if ((err as { statusCode?: number }).statusCode === 404 || /no such image/i.test(errorMessage(err))) {
      throw new RestoreproofError('E_IMAGE', `app image ${image} is not available: ${errorMessage(err)}`, { hint: 'build or pull it, or name another with spec.app.image, RESTOREPROOF_IMAGE_APP or the image map key "app"' });
    }
    throw engineError(err, `inspecting the app image ${image}`);
  }
}

async function pull(image: string): Promise<void> {
  try {
    const stream = await docker().pull(image);
    await new Promise<void>((resolvePull, reject) => docker().modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolvePull())));
  } catch (err) {
    throw new RestoreproofError('E_IMAGE', `app image ${image} is not available and could not be pulled: ${errorMessage(err)}`, { hint: 'build or pull it, or name another with spec.app.image, RESTOREPROOF_IMAGE_APP or the image map key "app"' });
  }
}

/** Force-removes the container and lets go of the run's network; records the outcome. Idempotent per record. */
async function removeContainer({ container, record, network }: Created): Promise<void> {
  if (record.removed) return;
  try {
    await container.remove({ force: true, v: true });
    record.removed = true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) record.removed = true;
    else Object.assign(record, { removed: false, error: errorMessage(err) });
  }
  await network.release();
}

/**
 * The app as a container of the run (`restoreproof-<run-id>-spec-app`) on the run's network, where
 * each store is reached by its name; its port is published on 127.0.0.1 and it is ready once the
 * port accepts TCP connections. On a local engine the probe goes to the container's own address on
 * the network, because the userland proxy of a published port accepts connections before the app
 * listens.
 */
export const startContainerApp: NonNullable<Runtime['startApp']> = async (request: AppRequest): Promise<StartedApp> => {
  const { spec } = request;
  const port = spec.port ?? defaultAppPort;
  const env = await request.env(networkAddress, port);
  const created = await createAppContainer(request, { spec, role: 'app', port, env: { PORT: String(port), HOST: '0.0.0.0', RESTOREPROOF_RUN_ID: request.runId }, secretEnv: env });
  const { container, record, network } = created;
  const ring = new LogRing();
  let logs: NodeJS.ReadableStream | undefined;
  // The followed log stream is an open connection to the engine: left open, it keeps the harness
  // from exiting (a kept app ran on, so it never ended).
  const stopFollowing = () => (logs as unknown as { destroy?: () => void } | undefined)?.destroy?.();
  const teardown = new Teardown(async () => {
    await removeContainer(created);
    stopFollowing();
  });
  const stop = () => teardown.stop();
  const what = spec.command ? `${spec.command.join(' ')} in ${record.image}` : record.image!;
  try {
    try {
      await container.start();
    } catch (err) {
      throw engineError(err, `starting the app container (${record.image})`);
    }
    logs = await follow(container, ring);
    const timeout = spec.startTimeout ?? '2m';
    const deadline = Date.now() + parseDuration(timeout);
    let info: Dockerode.ContainerInspectInfo;
    for (;;) {
      request.signal.throwIfAborted();
      try {
        info = await container.inspect();
      } catch (err) {
        throw engineError(err, 'inspecting the app container');
      }
      if (!info.State.Running) {
        await new Promise((r) => setTimeout(r, 200)); // the last lines of the log stream
        throw new RestoreproofError('E_APP_START', `app (${what}) exited during start-up (exit code ${info.State.ExitCode}); last log lines:\n${redact(ring.tail(20)) || '(no output)'}`, {
          hint: `the app must listen on $PORT (${port}) on 0.0.0.0 ($HOST) inside its container; stores are reached by their names on the run's network`,
        });
      }
      const ip = network.addressOf(info);
      const published = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort;
      try {
        if (engineIsLocal() && ip) await probePort(port, ip);
        else if (published) await probePort(Number(published), engineHost());
        else throw new Error('no address yet');
        break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new RestoreproofError('E_APP_START', `app (${what}) did not accept connections on port ${port} within ${timeout}; last log lines:\n${redact(ring.tail(20)) || '(no output)'}`, {
          hint: `the app must listen on $PORT (${port}) on 0.0.0.0 ($HOST) inside its container`,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const hostPort = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort;
    const reached = network.internal ? `${network.addressOf(info)}:${port}` : hostPort ? `${engineHost()}:${hostPort}` : '';
    if (!reached) throw new RestoreproofError('E_APP_START', `app container published no port for ${port}/tcp`);
    const baseUrl = `http://${reached}`;
    record.ports = { [`${port}/tcp`]: `${reached}${network.internal ? ' (internal run network)' : ''}` };
    const records: ResourceRecord[] = [record];
    const net = network.claimRecord();
    if (net) records.push(net);
    return {
      baseUrl,
      resources: records,
      get running() {
        return !record.removed && !teardown.begun;
      },
      logTail: (lines = 20) => redact(ring.tail(lines)),
      connectionHelp: () => [`app: ${baseUrl}  (container ${container.id.slice(0, 12)}, image ${record.image})`, `  remove it: docker rm -f ${container.id.slice(0, 12)}, then docker network rm ${network.name}`],
      keep: () => {
        teardown.keep();
        stopFollowing();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
};

/** The migration: a one-shot container of the app's image on the run's network, run to completion, then removed. */
export const runContainerAppTask: NonNullable<Runtime['runAppTask']> = async (request): Promise<AppTaskResult> => {
  const { spec } = request;
  const t0 = performance.now();
  const env = await request.env(networkAddress);
  const created = await createAppContainer(request, { spec, role: 'migrate', env: { RESTOREPROOF_RUN_ID: request.runId }, secretEnv: env });
  const { container } = created;
  const timeout = AbortSignal.timeout(parseDuration(spec.timeout ?? '10m'));
  const signal = AbortSignal.any([request.signal, timeout]);
  try {
    const waiting = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    try {
      await container.start();
    } catch (err) {
      throw engineError(err, `starting the migration container (${created.record.image})`);
    }
    const aborted = new Promise<'aborted'>((r) => (signal.aborted ? r('aborted') : signal.addEventListener('abort', () => r('aborted'), { once: true })));
    const outcome = await Promise.race([waiting, aborted]);
    let log = '';
    try {
      log = demuxLogs((await container.logs({ stdout: true, stderr: true, tail: 20, follow: false })) as unknown as Buffer).trim();
    } catch (err) {
      log = `(logs unavailable: ${errorMessage(err)})`;
    }
    const durationMs = performance.now() - t0;
    if (outcome === 'aborted') {
      if (request.signal.aborted) throw request.signal.reason ?? new Error('aborted');
      return { exitCode: null, signal: 'SIGKILL', log: redact(`${log}\n(killed: no exit within ${spec.timeout ?? '10m'})`.trim()), durationMs };
    }
    return { exitCode: outcome.StatusCode, signal: null, log: redact(log), durationMs };
  } finally {
    await removeContainer(created);
  }
};
