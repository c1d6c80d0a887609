import { createServer, type Server, type Socket } from 'node:net';
import { basename, posix } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { V1Container, V1Status, V1VolumeMount } from '@kubernetes/client-node';
import { pack as tarPack } from 'tar-stream';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import type { ToolResult } from '../../util/process.ts';
import { redact } from '../../util/redact.ts';
import { feedTar, stageRoot } from '../shared/tar.ts';
import type { ExecOptions, ResourceRecord, StartedStore, StoreEndpoint } from '../types.ts';
import { clientNode, kube, kubeError } from './client.ts';
import type { RunNamespace } from './namespace.ts';
import { DisposableStore } from '../shared/teardown.ts';

/** The file a staging init container waits for before the main container starts (files it needs go in first). */
export const READY_FILE = '/restoreproof-ready/ready';
/** The init container that holds a pod back until files are streamed in and READY_FILE is touched (needs a `ready` emptyDir volume). */
export function stagingInitContainer(image: string, mounts: V1VolumeMount[]): V1Container {
  return {
    name: 'stage',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', `until [ -e ${READY_FILE} ]; do sleep 0.2; done`],
    volumeMounts: [...mounts, { name: 'ready', mountPath: posix.dirname(READY_FILE) }],
  };
}

/** Bytes handed to the WebSocket but not yet sent, above which reading the source pauses. */
const maxBuffered = 4 * 1024 * 1024;
const tailLimit = 64 * 1024;

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
}

/**
 * Runs a command in a pod through the exec API (WebSocket, v5.channel.k8s.io). stdin is
 * streamed with back-pressure (never whole in memory) and half-closed at its end, so the tool
 * sees EOF and still sends its output; the exit code comes from the API server's status.
 */
export async function podExec(target: ExecTarget, command: string[], options: { stdin?: Readable; signal?: AbortSignal } = {}): Promise<ToolResult> {
  const t0 = performance.now();
  options.signal?.throwIfAborted();
  const k8s = await clientNode();
  const k = await kube();
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString('utf8'));
        cb();
      },
    });
  const out = sink((s) => (stdout = (stdout + s).slice(-tailLimit)));
  const err = sink((s) => (stderr = (stderr + s).slice(-tailLimit)));
  let status: V1Status | undefined;
  // A stdin stream the client never reads from: it makes the server open the stdin channel, which this function feeds itself.
  const placeholder = options.stdin ? new PassThrough() : null;
  let ws: Awaited<ReturnType<InstanceType<typeof k8s.Exec>['exec']>>;
  try {
    ws = await new k8s.Exec(k.config).exec(target.namespace, target.pod, target.container, command, out, err, placeholder, false, (s) => (status = s));
  } catch (e) {
    throw kubeError(e, `running ${command[0]} in pod ${target.namespace}/${target.pod}`, k.server);
  }
  let aborted = false;
  const closed = new Promise<void>((resolveClosed) => {
    if (ws.readyState === ws.CLOSED) resolveClosed();
    ws.on('close', () => resolveClosed());
    ws.on('error', (e: Error) => {
      stderr += `\n${e.message}`;
      resolveClosed();
    });
  });
  const onAbort = () => {
    aborted = true;
    ws.close();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.stdin) {
    const stdin = options.stdin;
    void (async () => {
      if (ws.protocol !== 'v5.channel.k8s.io') {
        stderr += `\nthe API server speaks ${ws.protocol || 'no'} exec protocol, not v5.channel.k8s.io, so stdin cannot be closed (Kubernetes 1.30 or later is needed to stream into a tool)`;
        ws.close();
        return;
      }
      try {
        for await (const chunk of stdin) {
          if (ws.readyState !== ws.OPEN) break;
          const data = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
          ws.send(Buffer.concat([Buffer.from([0]), data]));
          while (ws.bufferedAmount > maxBuffered && ws.readyState === ws.OPEN) await new Promise((r) => setTimeout(r, 5));
        }
        if (ws.readyState === ws.OPEN) ws.send(Buffer.from([255, 0]));
      } catch (e) {
        stderr += `\nreading the input failed: ${errorMessage(e)}`;
        ws.close();
      }
    })();
  }
  await closed;
  options.signal?.removeEventListener('abort', onAbort);
  options.stdin?.destroy();
  placeholder?.destroy();
  const durationMs = performance.now() - t0;
  if (aborted) return { exitCode: null, signal: 'SIGTERM', stdout, stderr, durationMs };
  return { exitCode: exitCodeOf(status, (m) => (stderr += `\n${m}`)), signal: null, stdout, stderr, durationMs };
}

/** `Success` is 0; `NonZeroExitCode` carries the code in its causes; anything else (no status at all) is null. */
function exitCodeOf(status: V1Status | undefined, note: (message: string) => void): number | null {
  if (!status) {
    note('the exec stream closed without an exit status (the pod or the connection went away)');
    return null;
  }
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message && /^\d+$/.test(cause.message)) return Number(cause.message);
  note(status.message ?? 'exec failed');
  return null;
}

/** Streams files, directories and literal contents into a pod as one tar archive (`tar -x` in the pod). */
export async function podUntar(target: ExecTarget, feed: (archive: ReturnType<typeof tarPack>) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const archive = tarPack();
  const feeding = feed(archive).catch((e: Error) => archive.destroy(e));
  const run = await podExec(target, ['tar', '-x', '-f', '-', '-C', '/', '--no-same-owner'], { stdin: archive as unknown as Readable, ...(signal ? { signal } : {}) });
  await feeding;
  if (run.exitCode !== 0) {
    throw new RestoreproofError('E_KUBE_STAGE', `copying into pod ${target.namespace}/${target.pod} (${target.container}) failed (tar exit code ${run.exitCode}): ${redact(run.stderr.trim().split('\n').slice(-5).join('\n'))}`);
  }
}

/**
 * A loopback TCP port forwarded to a pod port through the API server (one port-forward stream
 * per connection), so harness-side clients reach the store as on the other runtimes.
 */
export class PodForward {
  readonly target: ExecTarget;
  readonly podPort: number;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(target: ExecTarget, podPort: number) {
    this.target = target;
    this.podPort = podPort;
  }

  async start(): Promise<number> {
    const k8s = await clientNode();
    const k = await kube();
    const forward = new k8s.PortForward(k.config, true);
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      forward
        .portForward(this.target.namespace, this.target.pod, [this.podPort], socket, null, socket)
        .then((conn) => {
          const ws = typeof conn === 'function' ? conn() : conn;
          if (!ws) return socket.destroy();
          ws.on('close', () => socket.destroy());
          ws.on('error', () => socket.destroy());
          socket.on('close', () => ws.close());
        })
        .catch(() => socket.destroy());
    });
    this.server = server;
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolveListen());
    });
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

export interface KubeStoreOptions {
  name: string;
  engine: StartedStore['engine'];
  image: string;
  target: ExecTarget;
  endpoint: StoreEndpoint;
  /** Where other pods of the run (the app) reach the store. */
  podAddress: { host: string; port: number };
  version: string;
  namespace: RunNamespace;
  forward: PodForward;
  records: ResourceRecord[];
  toolEnv: Record<string, string>;
  url: (database?: string) => string;
  toolUrl: (database?: string) => string;
  connectionHelp: () => string[];
}

/** A store in a pod of the run's namespace; client tools run in the pod through the exec API. */
export class KubeStore extends DisposableStore implements StartedStore {
  readonly runtime = 'kubernetes';
  readonly name: string;
  readonly engine: StartedStore['engine'];
  readonly endpoint: StoreEndpoint;
  version: string;
  private readonly options: KubeStoreOptions;
  private staged = 0;

  constructor(options: KubeStoreOptions) {
    super();
    this.options = options;
    this.name = options.name;
    this.engine = options.engine;
    this.endpoint = options.endpoint;
    this.version = options.version;
  }

  get resources(): readonly ResourceRecord[] {
    return this.options.records;
  }

  /** Where other pods of the run (the app) reach the store. */
  get podAddress(): { host: string; port: number } {
    return this.options.podAddress;
  }

  url(database?: string): string {
    return this.options.url(database);
  }

  toolUrl(database?: string): string {
    return this.options.toolUrl(database);
  }

  async stage(hostPath: string, signal?: AbortSignal): Promise<string> {
    const target = posix.join(stageRoot, `${++this.staged}`, basename(hostPath));
    await podUntar(this.options.target, (archive) => feedTar(archive, hostPath, target.slice(1)), signal);
    return target;
  }

  async exec(tool: string, args: string[], options: ExecOptions = {}): Promise<ToolResult> {
    const env = Object.entries({ ...this.options.toolEnv, ...options.env }).map(([k, v]) => `${k}=${v}`);
    const run = await podExec(this.options.target, env.length ? ['env', ...env, tool, ...args] : [tool, ...args], {
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (run.exitCode === null && run.signal === null) await this.assertAlive(`${tool} ran`);
    return run;
  }

  /** A pod whose store container stopped fails the step with the server's last words. */
  private async assertAlive(while_: string): Promise<void> {
    const k = await kube();
    const { namespace, pod, container } = this.options.target;
    let reason = '';
    try {
      const p = await k.core.readNamespacedPod({ name: pod, namespace });
      const state = p.status?.containerStatuses?.find((c) => c.name === container)?.state;
      if (state?.running) return;
      const t = state?.terminated;
      reason = t ? `exit code ${t.exitCode}${t.reason ? `, ${t.reason}` : ''}` : `phase ${p.status?.phase}`;
    } catch (err) {
      throw kubeError(err, `reading pod ${namespace}/${pod}`, k.server);
    }
    throw new RestoreproofError('E_CONTAINER_DIED', `pod ${namespace}/${pod} of store ${this.name} (${this.options.image}) stopped while ${while_} (${reason}); its last log lines:\n${await podLogTail(this.options.target)}`, {
      hint: reason.includes('OOMKilled') ? 'raise the memory limit (kubernetes.resources)' : 'look for a server crash in the log lines',
    });
  }

  connectionHelp(): string[] {
    return this.options.connectionHelp();
  }

  /** Closes the port-forward and lets go of the namespace (deleted and waited for with the last store). */
  protected async teardown(): Promise<void> {
    await this.options.forward.close();
    await this.options.namespace.release();
  }
}

/** The store container's last log lines, redacted. */
export async function podLogTail(target: ExecTarget, lines = 20): Promise<string> {
  try {
    const k = await kube();
    const log = await k.core.readNamespacedPodLog({ name: target.pod, namespace: target.namespace, container: target.container, tailLines: lines });
    return redact(String(log).trim()) || '(no output)';
  } catch (err) {
    return `(logs unavailable: ${errorMessage(err)})`;
  }
}
