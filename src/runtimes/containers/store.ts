import { basename, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { pack as tarPack } from 'tar-stream';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import type { ToolResult } from '../../util/process.ts';
import { redact } from '../../util/redact.ts';
import type { ExecOptions, ResourceRecord, StartedStore, StoreEndpoint } from '../types.ts';
import { docker, engineError } from './docker.ts';
import type { RunNetwork } from './network.ts';
import { DisposableStore } from '../shared/teardown.ts';
import { answers, settledDeath } from '../shared/settle.ts';
import { feedTar, stageRoot } from '../shared/tar.ts';

export interface ContainerStoreOptions {
  name: string;
  engine: StartedStore['engine'];
  containerId: string;
  image: string;
  endpoint: StoreEndpoint;
  version: string;
  network: RunNetwork;
  record: ResourceRecord;
  /** User client tools run as inside the container (postgres tools refuse nothing, but files they write belong to it). */
  toolUser?: string;
  toolEnv: Record<string, string>;
  /** The server's port inside the container (how the app, on the run's network, reaches it by the store's name). */
  containerPort: number;
  url: (database?: string) => string;
  toolUrl: (database?: string) => string;
  connectionHelp: () => string[];
  /** The server's readiness probe: after a tool failed, an answer proves the server survived it. */
  probe: () => Promise<unknown>;
}

/** A store whose server runs in a container created for the run; client tools run inside it through `docker exec`. */
export class ContainerStore extends DisposableStore implements StartedStore {
  readonly runtime = 'containers';
  readonly name: string;
  readonly engine: StartedStore['engine'];
  readonly endpoint: StoreEndpoint;
  readonly version: string;
  readonly containerId: string;
  readonly image: string;
  readonly containerPort: number;
  private readonly options: ContainerStoreOptions;
  private readonly records: ResourceRecord[];
  private staged = 0;

  constructor(options: ContainerStoreOptions) {
    super();
    this.options = options;
    this.name = options.name;
    this.engine = options.engine;
    this.endpoint = options.endpoint;
    this.version = options.version;
    this.containerId = options.containerId;
    this.image = options.image;
    this.containerPort = options.containerPort;
    this.records = [options.record];
    const net = options.network.claimRecord();
    if (net) this.records.push(net);
  }

  get resources(): readonly ResourceRecord[] {
    return this.records;
  }

  private get container(): Dockerode.Container {
    return docker().getContainer(this.containerId);
  }

  url(database?: string): string {
    return this.options.url(database);
  }

  toolUrl(database?: string): string {
    return this.options.toolUrl(database);
  }

  /** Streams a file or directory into the container as a tar archive (never whole in memory). */
  async stage(hostPath: string, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    const target = posix.join(stageRoot, `${++this.staged}`, basename(hostPath));
    const archive = tarPack();
    const feeding = feedTar(archive, hostPath, target.slice(1)).catch((err: Error) => archive.destroy(err));
    try {
      await this.container.putArchive(archive as unknown as NodeJS.ReadableStream, { path: '/' });
      await feeding;
    } catch (err) {
      archive.destroy();
      throw engineError(err, `copying ${hostPath} into container ${this.containerId.slice(0, 12)}`);
    }
    return target;
  }

  async exec(tool: string, args: string[], options: ExecOptions = {}): Promise<ToolResult> {
    const t0 = performance.now();
    options.signal?.throwIfAborted();
    let stream: NodeJS.ReadWriteStream;
    let exec: Dockerode.Exec;
    try {
      exec = await this.container.exec({
        Cmd: [tool, ...args],
        AttachStdin: Boolean(options.stdin),
        AttachStdout: true,
        AttachStderr: true,
        Env: Object.entries({ ...this.options.toolEnv, ...options.env }).map(([k, v]) => `${k}=${v}`),
        ...(this.options.toolUser ? { User: this.options.toolUser } : {}),
      });
      stream = (await exec.start({ hijack: true, stdin: Boolean(options.stdin) })) as NodeJS.ReadWriteStream;
    } catch (err) {
      throw await this.explain(err, `running ${tool}`, `${tool} ran`);
    }
    const limit = 64 * 1024;
    let stderr = '';
    let inputError: string | undefined;
    let stdout = '';
    const out = new PassThrough();
    const errs = new PassThrough();
    out.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-limit)));
    errs.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-limit)));
    docker().modem.demuxStream(stream, out, errs);
    const stdin: Readable | undefined = options.stdin;
    if (stdin) {
      // Ends the write side only (a half-close), so the tool sees EOF and still sends its output.
      // A failure to read the input (a truncated gzip stream) is not in the tool's exit code: the
      // tool saw partial input and may exit 0. It is recorded as inputError, as on the local runtime.
      const inputFailed = (err: Error) => {
        inputError = err.message;
        stderr += `\n${err.message}`;
        (stream as unknown as NodeJS.WritableStream).end();
      };
      // A short artefact can fail (a truncated gzip) while the exec is still being created: its
      // error was emitted already, and piping it would leave the tool waiting for EOF for ever.
      if (stdin.errored) inputFailed(stdin.errored);
      else {
        stdin.on('error', inputFailed);
        stdin.pipe(stream as unknown as NodeJS.WritableStream);
      }
    }
    let aborted = false;
    await new Promise<void>((resolveDone) => {
      const done = () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolveDone();
      };
      const onAbort = () => {
        aborted = true;
        (stream as unknown as { destroy(): void }).destroy();
        done();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', (err: Error) => {
        stderr += `\n${err.message}`;
        done();
      });
    });
    if (stdin) {
      stdin.unpipe(stream as unknown as NodeJS.WritableStream);
      stdin.destroy();
    }
    const durationMs = performance.now() - t0;
    // The container is removed at teardown; the exec'd tool goes with it.
    if (aborted) return { exitCode: null, signal: 'SIGTERM', stderr, stdout, durationMs };
    let exitCode: number | null = null;
    try {
      const info = await exec.inspect();
      exitCode = info.Running ? null : info.ExitCode;
    } catch (err) {
      throw await this.explain(err, `running ${tool}`, `${tool} ran`);
    }
    if (exitCode === 0 || options.signal?.aborted) await this.assertAlive(`${tool} ran`, `running ${tool}`);
    else await this.assertSurvived(`${tool} ran`, `running ${tool}`);
    return { exitCode, signal: null, stderr, stdout, durationMs, ...(inputError ? { inputError: redact(inputError) } : {}) };
  }

  /** The container's last log lines (server output), secrets redacted. */
  async logTail(lines = 20): Promise<string> {
    try {
      const buffer = (await this.container.logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
      return redact(demuxLogs(buffer).trim());
    } catch (err) {
      return `(logs unavailable: ${errorMessage(err)})`;
    }
  }

  /**
   * How the container stopped (status, exit code, out of memory), or undefined while it runs.
   * `doing` names the step's work in an engine error: the inspect is part of it.
   */
  private async stoppedState(doing: string): Promise<string | undefined> {
    let state: Dockerode.ContainerInspectInfo['State'];
    try {
      state = (await this.container.inspect()).State;
    } catch (err) {
      throw engineError(err, `${doing} (inspecting container ${this.containerId.slice(0, 12)})`);
    }
    if (state.Running) return undefined;
    return `${state.Status}, exit code ${state.ExitCode}${state.OOMKilled ? ', killed for running out of memory' : ''}`;
  }

  /** A container that stopped while a tool ran fails the step with the server's last words. */
  private async died(while_: string, how: string): Promise<RestoreproofError> {
    return new RestoreproofError('E_CONTAINER_DIED', `container ${this.containerId.slice(0, 12)} of store ${this.name} (${this.image}) stopped while ${while_} (${how}); its last log lines:\n${await this.logTail()}`, {
      hint: how.includes('out of memory') ? 'raise resources.memory' : 'look for out-of-memory kills (raise resources.memory) or a server crash in the log lines',
    });
  }

  private async assertAlive(while_: string, doing: string): Promise<void> {
    const how = await this.stoppedState(doing);
    if (how) throw await this.died(while_, how);
  }

  /** After a tool failed: the container died under it if the engine, once settled, says it stopped. */
  private async assertSurvived(while_: string, doing: string): Promise<void> {
    const how = await settledDeath({ stopped: () => this.stoppedState(doing), answers: () => answers(this.options.probe) });
    if (how) throw await this.died(while_, how);
  }

  /** `while_` words the death as the other paths do, so one cut reads the same whichever call it hit. */
  private async explain(err: unknown, doing: string, while_ = doing): Promise<Error> {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404 || status === 409) {
      try {
        await this.assertAlive(while_, doing);
      } catch (dead) {
        return dead as Error;
      }
    }
    return engineError(err, `${doing} in container ${this.containerId.slice(0, 12)}`);
  }

  connectionHelp(): string[] {
    return this.options.connectionHelp();
  }

  /** Removes the container (force: the data is disposable), then the run's network once no store uses it. */
  protected async teardown(): Promise<void> {
    const record = this.options.record;
    try {
      await this.container.remove({ force: true, v: true });
      record.removed = true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) record.removed = true;
      else Object.assign(record, { removed: false, error: errorMessage(err) });
    }
    await this.options.network.release();
  }
}

/** Streams a file or directory of this machine into a (created, not necessarily started) container at `target` (absolute). */
export async function copyIntoContainer(container: Dockerode.Container, hostPath: string, target: string): Promise<void> {
  const archive = tarPack();
  const feeding = feedTar(archive, hostPath, target.replace(/^\/+/, '')).catch((err: Error) => archive.destroy(err));
  try {
    await container.putArchive(archive as unknown as NodeJS.ReadableStream, { path: '/' });
    await feeding;
  } catch (err) {
    archive.destroy();
    throw engineError(err, `copying ${hostPath} into container ${container.id.slice(0, 12)}`);
  }
}

/** Writes `content` into a (created, not necessarily started) container as the file `target` (absolute). */
export async function copyContentIntoContainer(container: Dockerode.Container, target: string, content: string, mode: number): Promise<void> {
  const archive = tarPack();
  const name = target.replace(/^\/+/, '');
  archive.entry({ name: posix.dirname(name), type: 'directory', mode: 0o755 });
  archive.entry({ name, mode }, content);
  archive.finalize();
  try {
    await container.putArchive(archive as unknown as NodeJS.ReadableStream, { path: '/' });
  } catch (err) {
    throw engineError(err, `writing ${target} into container ${container.id.slice(0, 12)}`);
  }
}

/** Docker's multiplexed log format (8-byte frame headers) to text. */
export function demuxLogs(buffer: Buffer): string {
  if (!Buffer.isBuffer(buffer)) return String(buffer);
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length && buffer[offset]! <= 2 && buffer[offset + 1] === 0) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return parts.length ? Buffer.concat(parts).toString('utf8') : buffer.toString('utf8');
}
