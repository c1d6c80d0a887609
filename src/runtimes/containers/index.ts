import type Dockerode from 'dockerode';
import type { BoundPorts, WaitStrategy } from 'testcontainers';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import type { StoreSpec } from '../../drill/types.ts';
import type { ProvisionRequest, Runtime, StartedStore, StoreEndpoint } from '../types.ts';
import { enginesWith, serverOf } from '../hosted.ts';
import { dockerHost, engineError, engineIsLocal } from './docker.ts';
import { LABEL_STORE, runLabels } from '../shared/labels.ts';
import { runContainerAppTask, startContainerApp } from './app.ts';
import { describedImage, resolveImage } from '../shared/images.ts';
import { parseMemory } from '../shared/memory.ts';
import { runNetwork } from './network.ts';
import { ContainerStore, demuxLogs } from './store.ts';

/**
 * Readiness through the store's own protocol from this process (a SQL query, PING/INFO, a Mongo
 * ping, ListBuckets), not an open port; a container that exits meanwhile fails at once with its logs.
 */
class ProbeWaitStrategy implements WaitStrategy {
  private timeoutMs = 120_000;
  private timeoutSet = false;
  version = '';
  private readonly address: StoreAddressOf;
  private readonly probe: (endpoint: StoreEndpoint) => Promise<string>;
  private readonly credentials: { user: string; password: string };
  private readonly signal: AbortSignal;

  constructor(options: { address: StoreAddressOf; credentials: { user: string; password: string }; probe: (endpoint: StoreEndpoint) => Promise<string>; signal: AbortSignal }) {
    this.address = options.address;
    this.probe = options.probe;
    this.credentials = options.credentials;
    this.signal = options.signal;
  }

  async waitUntilReady(container: Dockerode.Container, boundPorts: BoundPorts): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      this.signal.throwIfAborted();
      const info = await container.inspect();
      if (!info.State.Running) {
        throw new RestoreproofError('E_PROVISION', `container exited during start-up (exit code ${info.State.ExitCode}); its last log lines:\n${await logTail(container)}`);
      }
      try {
        this.version = await this.probe({ ...this.address(info, boundPorts), ...this.credentials });
        return;
      } catch (err) {
        lastError = errorMessage(err);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new RestoreproofError('E_PROVISION', `did not answer queries within ${this.timeoutMs / 1000}s (${lastError}); its last log lines:\n${await logTail(container)}`);
  }

  withStartupTimeout(ms: number): this {
    this.timeoutMs = ms;
    this.timeoutSet = true;
    return this;
  }

  isStartupTimeoutSet(): boolean {
    return this.timeoutSet;
  }

  getStartupTimeout(): number {
    return this.timeoutMs;
  }
}

async function logTail(container: Dockerode.Container, lines = 15): Promise<string> {
  try {
    return demuxLogs((await container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer).trim();
  } catch (err) {
    return `(logs unavailable: ${errorMessage(err)})`;
  }
}

let testcontainers: Promise<typeof import('testcontainers')> | undefined;
/** Loaded on first use: the local runtime never pays for it. Ryuk is off unless asked for: kept stores must outlive this process, and our labels plus `restoreproof gc` do its job. */
function loadTestcontainers(): Promise<typeof import('testcontainers')> {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  // A local engine's ports are published on 127.0.0.1 only. Where /.dockerenv exists (CI runners,
  // some VMs), testcontainers would otherwise resolve the host to the bridge gateway, and cache it.
  if (engineIsLocal()) process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  testcontainers ??= import('testcontainers');
  return testcontainers;
}

/** Where the harness reaches a store's server: its published port, or its address on an internal run network. */
type StoreAddressOf = (info: Dockerode.ContainerInspectInfo, boundPorts: BoundPorts) => { host: string; port: number };

async function startStore(request: ProvisionRequest): Promise<StartedStore> {
  const tc = await loadTestcontainers();
  const { spec, storeName } = request;
  const { image } = resolveImage(spec);
  const server = serverOf(spec.engine, 'container', 'containers');
  const recipe = server.recipe(request);
  const network = runNetwork(request.runId, request.drillName, request.egress);
  const networkId = await network.join();
  const local = engineIsLocal();
  const host = local ? '127.0.0.1' : (await tc.getContainerRuntimeClient()).info.containerRuntime.host;
  const address: StoreAddressOf = network.internal
    ? (info) => ({ host: network.addressOf(info), port: recipe.port })
    : (_info, boundPorts) => ({ host, port: boundPorts.getBinding(recipe.port) });
  const labels: Record<string, string> = { ...runLabels(request.runId, request.drillName), [LABEL_STORE]: storeName };
  const resources = spec.resources;
  const record = { kind: 'container' as const, id: '', store: storeName, image };
  const wait = new ProbeWaitStrategy({ address, credentials: { user: recipe.user, password: recipe.password }, probe: recipe.probe, signal: request.signal });

  class StoreContainer extends tc.GenericContainer {
    protected override async beforeContainerCreated(): Promise<void> {
      // The alias is set here, not with withNetworkAliases: testcontainers would create the
      // container on Docker's default bridge (egress to anywhere) and connect the run network second.
      this.createOpts.NetworkingConfig = { EndpointsConfig: { [network.name]: { Aliases: [storeName] } } };
      if (local) for (const bindings of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) for (const b of bindings) b.HostIp = '127.0.0.1';
      if (resources?.cpus) this.hostConfig.NanoCpus = Math.round(resources.cpus * 1e9);
      if (resources?.memory) this.hostConfig.Memory = parseMemory(resources.memory);
    }
    protected override async containerCreated(id: string): Promise<void> {
      record.id = id;
    }
  }
  let container = new StoreContainer(image)
    .withName(`restoreproof-${request.runId}-${storeName}`)
    .withLabels(labels)
    .withEnvironment(recipe.env)
    .withNetworkMode(networkId)
    .withPullPolicy(tc.PullPolicy.defaultPolicy())
    .withWaitStrategy(wait)
    .withStartupTimeout(Number(process.env.RESTOREPROOF_CONTAINER_START_TIMEOUT_MS) || 180_000);
  // Docker publishes no ports from an internal network.
  if (!network.internal) container = container.withExposedPorts(recipe.port);
  if (recipe.command) container = container.withCommand(recipe.command);
  if (recipe.files) container = container.withCopyFilesToContainer(recipe.files.map((f) => ({ ...f, mode: 0o644 })));
  if (recipe.directories) container = container.withCopyDirectoriesToContainer(recipe.directories);
  if (recipe.contents) container = container.withCopyContentToContainer(recipe.contents);

  let started: Awaited<ReturnType<typeof container.start>>;
  try {
    started = await container.start();
  } catch (err) {
    await network.release();
    if (request.signal.aborted) throw err;
    const message = errorMessage(err);
    if (/no such image|pull access denied|not found|manifest unknown/i.test(message)) {
      throw new RestoreproofError('E_IMAGE', `store ${storeName}: image ${image} is not available: ${message}`, { hint: `pull it, or point the store at another image (image: in the drill, ${'RESTOREPROOF_IMAGE_' + spec.engine.toUpperCase()}, or --image-map)` });
    }
    if (err instanceof RestoreproofError) throw new RestoreproofError(err.code, `store ${storeName} (${image}): ${err.message}`, err.hint ? { hint: err.hint } : {});
    throw engineError(err, `starting store ${storeName} (${image})`);
  }
  record.id = started.getId();
  const reached = network.internal ? { host: started.getIpAddress(network.name), port: recipe.port } : { host, port: started.getMappedPort(recipe.port) };
  const endpoint: StoreEndpoint = { ...reached, user: recipe.user, password: recipe.password };
  const ports = { [`${recipe.port}/tcp`]: `${endpoint.host}:${endpoint.port}${network.internal ? ' (internal run network)' : ''}` };
  const store = new ContainerStore({
    name: storeName,
    engine: spec.engine,
    containerId: started.getId(),
    image,
    endpoint,
    version: wait.version,
    network,
    record: Object.assign(record, { ports }),
    ...(recipe.toolUser ? { toolUser: recipe.toolUser } : {}),
    toolEnv: recipe.toolEnv,
    containerPort: recipe.port,
    url: (database) => recipe.url(endpoint, database),
    toolUrl: recipe.toolUrl,
    probe: () => recipe.probe(endpoint),
    connectionHelp: () => [
      ...recipe.help(endpoint, started.getId()),
      `  remove it: docker rm -f ${started.getId().slice(0, 12)}, then docker network rm ${network.name} (or restoreproof gc once ${labels['restoreproof.expires-at']} has passed)`,
    ],
  });
  try {
    if (request.signal.aborted) throw request.signal.reason ?? new Error('aborted');
    await preflight(store, recipe.tools, image, server.image.latest);
    if (recipe.versionFromTools) (store as { version: string }).version = await recipe.versionFromTools(store);
  } catch (err) {
    await store.stop();
    throw err;
  }
  return store;
}

/** Every client tool a restore will run must be in the image: fail before any restore, naming what is missing. */
async function preflight(store: ContainerStore, tools: string[], image: string, officialImage: string): Promise<void> {
  const missing: string[] = [];
  for (const tool of tools) {
    const run = await store.exec('sh', ['-c', `command -v ${tool}`]);
    if (run.exitCode !== 0) missing.push(tool);
  }
  if (missing.length) {
    throw new RestoreproofError('E_PREFLIGHT', `store ${store.name}: image ${image} has no ${missing.join(', ')} (command -v ${missing[0]} failed); the restore runs the image's own tools`, {
      hint: `use an image that carries ${missing.join(' and ')} (e.g. the official ${officialImage.replace(/:latest$/, '')} image), or run the drill with --runtime local`,
    });
  }
}

/** Stores in disposable containers (one per store, one network per run) through testcontainers. */
export const containersRuntime: Runtime = {
  name: 'containers',
  engines: enginesWith('container'),
  async describeProvision({ spec, storeName, egress }) {
    const described = describedImage(spec as StoreSpec);
    if ('problem' in described) return [described.problem];
    const { image, source } = described;
    const limits = spec.resources ? `, limits ${[spec.resources.cpus ? `${spec.resources.cpus} CPUs` : '', spec.resources.memory ? `memory ${spec.resources.memory}` : ''].filter(Boolean).join(', ')}` : '';
    return [
      `container from ${image} (${source}) on ${egress ? '' : 'internal '}network restoreproof-<run-id> as ${storeName}${limits}, engine ${dockerHost()}`,
      `labels restoreproof.run=<run-id>, restoreproof.drill, restoreproof.expires-at; ${egress ? `port published on ${engineIsLocal() ? '127.0.0.1' : 'the engine host'}` : engineIsLocal() ? 'reached at its address on the run\'s network (no port published)' : 'cannot run here: an internal network of a remote engine is unreachable (set spec.network.egress: true)'}`,
    ];
  },
  async provision(request) {
    try {
      return await startStore(request);
    } catch (err) {
      if (err instanceof RestoreproofError || request.signal.aborted) throw err;
      throw engineError(err, `provisioning store ${request.storeName}`);
    }
  },
  startApp: startContainerApp,
  runAppTask: runContainerAppTask,
};

