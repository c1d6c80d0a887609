import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { chown, lstat, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { removeTree } from '../../util/remove-tree.ts';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestoreproofError } from '../../errors.ts';
import { MEMORY_ROOT, storeDataRoot } from './data-root.ts';
import { childEnv, runTool, type ToolResult } from '../../util/process.ts';
import { redact } from '../../util/redact.ts';
import { answers, settledDeath } from '../shared/settle.ts';
import { DisposableStore } from '../shared/teardown.ts';
import type { ExecOptions, ProvisionRequest, ResourceRecord, StartedStore, StoreEndpoint } from '../types.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The plan's line for a server started from `find()`'s binary in a run temp dir (or why it cannot be), then `detail`. */
export async function describeLocalBinary(find: () => Promise<string>, detail?: string): Promise<string[]> {
  const where = `temp dir ${tmpdir()}/restoreproof-<run-id>-<store>-* (in ${MEMORY_ROOT} when the data fits, RESTOREPROOF_LOCAL_DATA), a free 127.0.0.1 port`;
  const binary = await find().then((b) => `${b} in ${where}`, (err: Error) => `!! ${err.message}`);
  return [detail ? `${binary}, ${detail}` : binary];
}

export interface Account {
  uid: number;
  gid: number;
}

/** The OS account local store servers run as when the harness is root (RESTOREPROOF_SERVER_USER overrides). */
export const serverAccountName = () => process.env.RESTOREPROOF_SERVER_USER || 'restoreproof';

async function lookupAccount(name: string): Promise<Account | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

let accountPromise: Promise<Account | undefined> | undefined;

/**
 * Store servers never run as root: a backup's `COPY … FROM PROGRAM` (PostgreSQL), a module or a
 * Lua script runs as the server's account. When the harness is root they run as a dedicated
 * system account, `restoreproof`, created on first use (no home, no login shell, its own group),
 * which owns nothing but the run's server dirs. Not `postgres` (it owns this machine's own
 * clusters) and not `nobody` (other daemons share it). Not root: undefined, servers run as we do.
 */
export function unprivilegedAccount(): Promise<Account | undefined> {
  if (process.getuid?.() !== 0) return Promise.resolve(undefined);
  accountPromise ??= resolveServerAccount().catch((err: unknown) => {
    accountPromise = undefined;
    throw err;
  });
  return accountPromise;
}

async function resolveServerAccount(): Promise<Account> {
  const name = serverAccountName();
  let account = await lookupAccount(name);
  let tried = '';
  if (!account) {
    // useradd (shadow-utils), else BusyBox adduser. A concurrent run may win the race: look again either way.
    for (const [command, args] of [
      ['useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--comment', 'restoreproof store servers', name]],
      ['adduser', ['-S', '-D', '-H', '-h', '/nonexistent', '-s', '/sbin/nologin', name]],
    ] as const) {
      const run = await runTool({ command, args: [...args] }).catch((err: Error) => ({ exitCode: -1, stderr: err.message }));
      account = await lookupAccount(name);
      if (account) break;
      tried += `${command}: ${run.stderr.trim() || `exit ${run.exitCode}`}; `;
    }
  }
  if (!account) {
    throw new RestoreproofError('E_NO_ACCOUNT', `running as root and the account ${name} for store servers is missing and could not be created (${tried.trim()})`, {
      hint: `create it (useradd --system --user-group --no-create-home --shell /usr/sbin/nologin ${name}), name another with RESTOREPROOF_SERVER_USER, or run restoreproof as a normal user`,
    });
  }
  if (account.uid === 0) throw new RestoreproofError('E_NO_ACCOUNT', `the account ${name} for store servers is root (uid 0); servers must not run as root`, { hint: 'name an unprivileged account with RESTOREPROOF_SERVER_USER' });
  return account;
}

/** Gives `path` (a file, or a directory and everything in it) to the account. */
export async function chownTree(path: string, account: Account | undefined): Promise<void> {
  if (!account) return;
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  await chown(path, account.uid, account.gid);
  if (st.isDirectory()) for (const entry of await readdir(path)) await chownTree(join(path, entry), account);
}

/**
 * A server's own stop signal, written into its dir when it is not SIGTERM, so gc and the reaper
 * stop it the same way the run would.
 */
export const STOP_SIGNAL_FILE = '.restoreproof-stop-signal';

/**
 * One server process in one temp dir, both named after the run id so a sweep can find leftovers.
 * Stopping kills the process (then SIGKILL after a grace period) and deletes the dir.
 */
export class LocalServer {
  readonly dir: string;
  /** Whether `dir` is in memory (storeDataRoot chose MEMORY_ROOT): what is written there takes RAM. */
  readonly inMemory: boolean;
  readonly resources: ResourceRecord[];
  private child: ChildProcess | undefined;
  private log = '';
  private exited: Promise<void> = Promise.resolve();
  private kept = false;
  private stopped = false;
  private readonly store: string;
  private command = '';
  /** The readiness probe that last answered: after a tool failed, an answer proves the server survived it. */
  private probe: (() => Promise<unknown>) | undefined;

  /** Who the server runs as (undefined: as the harness, which is then not root). */
  readonly account: Account | undefined;

  /**
   * A store's data is discarded with its dir, so its server is stopped at once, with no shutdown
   * checkpoint or save (SIGKILL unless the engine names a better one); an app gets SIGTERM.
   */
  private readonly defaultStopSignal: NodeJS.Signals;

  private constructor(dir: string, inMemory: boolean, store: string, account: Account | undefined, defaultStopSignal: NodeJS.Signals) {
    this.dir = dir;
    this.inMemory = inMemory;
    this.store = store;
    this.account = account;
    this.defaultStopSignal = defaultStopSignal;
    this.resources = [{ kind: 'directory', id: dir, store }];
  }

  static async create(request: Pick<ProvisionRequest, 'runId' | 'storeName'>, account?: Account, defaultStopSignal: NodeJS.Signals = 'SIGTERM', root = tmpdir()): Promise<LocalServer> {
    const dir = await mkdtemp(join(root, `restoreproof-${request.runId}-${request.storeName}-`));
    if (account) await chown(dir, account.uid, account.gid);
    return new LocalServer(dir, root === MEMORY_ROOT, request.storeName, account, defaultStopSignal);
  }

  /**
   * A store's server: its dir and process belong to the unprivileged account when we are root; it
   * is killed, not shut down. Its dir is in memory when its data fits (storeDataRoot).
   */
  static async forStore(request: Pick<ProvisionRequest, 'runId' | 'storeName' | 'artefacts'>): Promise<LocalServer> {
    const artefactBytes = (request.artefacts ?? []).reduce((sum, a) => sum + a.info.size, 0);
    return LocalServer.create(request, await unprivilegedAccount(), 'SIGKILL', await storeDataRoot(artefactBytes));
  }

  /** Gives a file or directory the server needs to the server's account. */
  own(path: string): Promise<void> {
    return chownTree(path, this.account);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return Boolean(this.child) && this.child!.exitCode === null && this.child!.signalCode === null;
  }

  /**
   * Detached: a terminal's Ctrl-C reaches only the harness, which then stops the server in order.
   * As the server's account, with only the allow-listed variables (childEnv) and `env`; HOME is
   * the server's dir unless `env` sets it.
   */
  start(command: string, args: string[], options: { env?: Record<string, string>; stopSignal?: NodeJS.Signals; cwd?: string; group?: boolean } = {}): void {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      cwd: options.cwd ?? this.dir,
      env: childEnv({ HOME: this.dir, ...options.env }),
      ...this.account,
    });
    this.child = child;
    this.command = command.split('/').pop()!;
    this.stopSignal = options.stopSignal ?? this.defaultStopSignal;
    if (this.stopSignal !== 'SIGTERM') writeFileSync(join(this.dir, STOP_SIGNAL_FILE), `${this.stopSignal}\n`, { mode: 0o644 });
    this.group = options.group ?? false;
    this.resources.push({ kind: 'process', id: `${this.command} pid ${child.pid}`, store: this.store });
    const append = (d: string) => {
      this.log = (this.log + d).slice(-16 * 1024);
    };
    child.stdout?.setEncoding('utf8').on('data', append);
    child.stderr?.setEncoding('utf8').on('data', append);
    child.once('error', (err) => append(`\n${err.message}`));
    this.exited = new Promise((resolveExit) => child.once('close', () => resolveExit()));
  }

  private stopSignal: NodeJS.Signals = 'SIGTERM';
  /** Signal the whole process group (an app started through a wrapper such as npm), not just the child. */
  private group = false;

  logTail(lines = 8): string {
    return this.log.trim().split('\n').slice(-lines).join('\n');
  }

  /** Polls `probe` until it answers (proving the server accepts queries, not just that a port is open). */
  async waitReady<T>(name: string, probe: () => Promise<T>, signal: AbortSignal, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      signal.throwIfAborted();
      if (!this.running) {
        await this.exited;
        throw new RestoreproofError('E_PROVISION', `${name} exited during start-up:\n${this.logTail()}`);
      }
      try {
        const answer = await probe();
        this.probe = probe;
        return answer;
      } catch (err) {
        lastError = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new RestoreproofError('E_PROVISION', `${name} did not accept connections within ${timeoutMs / 1000}s (${lastError}); log:\n${this.logTail()}`);
  }

  /** How the process ended (an exit code or a signal), or undefined while it runs (or was never started). */
  get ended(): string | undefined {
    const child = this.child;
    if (!child || this.running) return undefined;
    return child.signalCode ? `killed by ${child.signalCode}` : `exit code ${child.exitCode}`;
  }

  /**
   * After a tool failed against this server: E_STORE_DIED if the server process died under it
   * (its exit can reach us a moment after the tool's, so this waits until it is seen gone or answers).
   */
  async assertSurvived(while_: string): Promise<void> {
    const how = await settledDeath({ stopped: async () => this.ended, answers: () => answers(this.probe) });
    if (!how) return;
    throw new RestoreproofError('E_STORE_DIED', `the ${this.command} server (pid ${this.pid}) of store ${this.store} stopped while ${while_} (${how}); its last log lines:\n${redact(this.logTail(20))}`, {
      hint: 'look for an out-of-memory kill (dmesg) or a server crash in the log lines',
    });
  }

  keep(): void {
    this.kept = true;
    this.child?.unref();
    for (const s of [this.child?.stdout, this.child?.stderr]) (s as { unref?: () => void } | null | undefined)?.unref?.();
  }

  get isKept(): boolean {
    return this.kept;
  }

  async stop(): Promise<void> {
    if (this.stopped || this.kept) return;
    this.stopped = true;
    const child = this.child;
    if (child && this.running) {
      const kill = (signal: NodeJS.Signals) => {
        try {
          if (this.group && child.pid) process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          child.kill(signal);
        }
      };
      kill(this.stopSignal);
      const timer = setTimeout(() => kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    for (const r of this.resources.filter((r) => r.kind === 'process')) r.removed = true;
    const dirRecord = this.resources.find((r) => r.kind === 'directory')!;
    try {
      await removeTree(this.dir);
      dirRecord.removed = true;
    } catch (err) {
      dirRecord.error = (err as Error).message;
    }
  }
}

export interface LocalStoreOptions {
  name: string;
  engine: StartedStore['engine'];
  server: LocalServer;
  endpoint: StoreEndpoint;
  version: string;
  /** Directory or explicit paths of the engine's client tools. */
  tool: (name: string) => string;
  toolEnv: Record<string, string>;
  connectionHelp: () => string[];
  url: (database?: string) => string;
  /** Where the tools connect when that is not `url` (InfluxDB's RPC address). */
  toolUrl?: (database?: string) => string;
  restoredAtStart?: readonly number[];
}

/** A store whose server is a LocalServer; client tools run on this machine. */
export class LocalStore extends DisposableStore implements StartedStore {
  readonly runtime = 'local';
  readonly name: string;
  readonly engine: StartedStore['engine'];
  readonly endpoint: StoreEndpoint;
  readonly version: string;
  readonly server: LocalServer;
  private readonly options: LocalStoreOptions;

  constructor(options: LocalStoreOptions) {
    super();
    this.options = options;
    this.name = options.name;
    this.engine = options.engine;
    this.endpoint = options.endpoint;
    this.version = options.version;
    this.server = options.server;
  }

  get resources(): readonly ResourceRecord[] {
    return this.server.resources;
  }

  url(database?: string): string {
    return this.options.url(database);
  }

  toolUrl(database?: string): string {
    return (this.options.toolUrl ?? this.options.url)(database);
  }

  get restoredAtStart(): readonly number[] | undefined {
    return this.options.restoredAtStart;
  }

  async exec(tool: string, args: string[], options: ExecOptions = {}): Promise<ToolResult> {
    const result = await runTool({
      command: this.options.tool(tool),
      args,
      env: { ...this.options.toolEnv, ...options.env },
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (result.exitCode !== 0 && !options.signal?.aborted) await this.server.assertSurvived(`${tool} ran`);
    return result;
  }

  /** Tools run on this machine and read the artefact where it is. */
  async stage(hostPath: string): Promise<string> {
    return hostPath;
  }

  connectionHelp(): string[] {
    return this.options.connectionHelp();
  }

  /** Kept: the server outlives the harness (its process and pipes no longer hold the event loop). */
  override keep(): void {
    super.keep();
    this.server.keep();
  }

  protected teardown(): Promise<void> {
    return this.server.stop();
  }
}
