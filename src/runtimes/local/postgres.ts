import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { RestoreproofError, ToolNotFoundError } from '../../errors.ts';
import type { PostgresStoreSpec } from '../../spec/types.ts';
import { runTool, type ToolResult } from '../../util/process.ts';
import { registerSecret } from '../../util/redact.ts';
import { findOnPath, isExecutable, listDir } from '../../util/tools.ts';
import type { ExecOptions, ProvisionRequest, ResourceRecord, StartedStore, StoreEndpoint } from '../types.ts';

const serverTools = ['initdb', 'postgres'] as const;
const clientTools = ['pg_restore', 'psql'] as const;
/**
 * The bootstrap superuser gets a per-server name: a pg_dumpall file carries CREATE ROLE for its
 * own cluster's roles, and must never collide with ours.
 */
const newSuperuser = () => `restoreproof_${randomBytes(3).toString('hex')}`;

/** Finds a directory holding the PostgreSQL server and client binaries. */
export async function findPostgresBinDir(spec: Pick<PostgresStoreSpec, 'binDir' | 'version'>): Promise<string> {
  const candidates: string[] = [];
  if (spec.binDir) candidates.push(spec.binDir);
  else {
    if (process.env.RESTOREPROOF_PG_BINDIR) candidates.push(process.env.RESTOREPROOF_PG_BINDIR);
    const versions = (await listDir('/usr/lib/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (!spec.version || spec.version === v) candidates.push(`/usr/lib/postgresql/${v}/bin`);
    if (!spec.version) {
      const onPath = await findOnPath('initdb');
      if (onPath) candidates.push(onPath.replace(/\/initdb$/, ''));
      candidates.push('/usr/local/pgsql/bin');
    }
  }
  for (const dir of candidates) {
    const present = await Promise.all([...serverTools, ...clientTools].map((t) => isExecutable(join(dir, t))));
    if (present.every(Boolean)) return dir;
  }
  throw new ToolNotFoundError(
    spec.version ? `PostgreSQL ${spec.version} server (initdb, postgres)` : 'PostgreSQL server (initdb, postgres)',
    candidates,
    spec.binDir
      ? `binDir ${spec.binDir} must contain ${[...serverTools, ...clientTools].join(', ')}`
      : `install it (Debian: apt-get install postgresql-${spec.version ?? '15'}), or set binDir in the store or RESTOREPROOF_PG_BINDIR`,
  );
}

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

/** PostgreSQL refuses to run as root; when we are root, the server runs as an unprivileged account. */
async function serverAccount(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const name of ['postgres', 'nobody']) {
    const line = passwd.split('\n').find((l) => l.startsWith(`${name}:`));
    if (line) {
      const [, , uid, gid] = line.split(':');
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new RestoreproofError('E_NO_ACCOUNT', 'running as root and no unprivileged account (postgres or nobody) exists to run the PostgreSQL server', {
    hint: 'create a system user named postgres, or run restoreproof as a normal user',
  });
}

async function chownTree(path: string, account: { uid: number; gid: number } | undefined) {
  if (account) await chown(path, account.uid, account.gid);
}

export async function describeLocalPostgres(spec: PostgresStoreSpec): Promise<string[]> {
  let binDir: string;
  try {
    binDir = await findPostgresBinDir(spec);
  } catch (err) {
    return [`!! ${(err as Error).message}`];
  }
  return [
    `create temp dir ${tmpdir()}/restoreproof-<run-id>-<store>-*`,
    `${binDir}/initdb --auth=scram-sha-256 -U restoreproof_<random> (generated password)`,
    `${binDir}/postgres on 127.0.0.1:<free port>, fsync off (ephemeral)`,
  ];
}

/** Starts an ephemeral PostgreSQL server in a fresh temp dir, on a free loopback port, with a generated password. */
export async function startLocalPostgres(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as PostgresStoreSpec;
  const binDir = await findPostgresBinDir(spec);
  const account = await serverAccount();
  const dir = await mkdtemp(join(tmpdir(), `restoreproof-${request.runId}-${request.storeName}-`));
  const resources: ResourceRecord[] = [{ kind: 'directory', id: dir, store: request.storeName }];
  const store = new StartedLocalPostgres(request.storeName, binDir, dir, resources);
  const superuser = newSuperuser();
  try {
    await chownTree(dir, account);
    const password = randomBytes(24).toString('base64url');
    registerSecret(password);
    const pwfile = join(dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    await chownTree(pwfile, account);
    const data = join(dir, 'data');
    await mkdir(data, { mode: 0o700 });
    await chownTree(data, account);

    const init = await runTool({
      command: join(binDir, 'initdb'),
      args: ['-D', data, '-U', superuser, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'],
      signal: request.signal,
      ...account,
    });
    await rm(pwfile, { force: true });
    if (init.exitCode !== 0) throw new RestoreproofError('E_PROVISION', `initdb failed (exit ${init.exitCode ?? init.signal}): ${init.stderr.trim().split('\n').slice(-3).join(' | ')}`);

    const port = await freePort();
    const child = spawn(
      join(binDir, 'postgres'),
      ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
        '-c', `cluster_name=restoreproof-${request.runId}-${request.storeName}`,
        // Ephemeral: durability buys nothing here and costs restore time.
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...account },
    );
    store.attach(child, { host: '127.0.0.1', port, user: superuser, password });
    await store.waitReady(request.signal);
    return store;
  } catch (err) {
    await store.stop();
    throw err;
  }
}

class StartedLocalPostgres implements StartedStore {
  readonly engine = 'postgres' as const;
  readonly runtime = 'local';
  version = '';
  endpoint: StoreEndpoint = { host: '127.0.0.1', port: 0, user: '', password: '' };
  private child: ChildProcess | undefined;
  private log = '';
  private exited: Promise<void> = Promise.resolve();
  private kept = false;
  private stopped = false;

  readonly name: string;
  readonly resources: ResourceRecord[];
  private readonly binDir: string;
  private readonly dir: string;

  constructor(name: string, binDir: string, dir: string, resources: ResourceRecord[]) {
    this.name = name;
    this.binDir = binDir;
    this.dir = dir;
    this.resources = resources;
  }

  attach(child: ChildProcess, endpoint: StoreEndpoint) {
    this.child = child;
    this.endpoint = endpoint;
    this.resources.push({ kind: 'process', id: `postgres pid ${child.pid}`, store: this.name });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.log = (this.log + d).slice(-16 * 1024);
    });
    this.exited = new Promise((resolveExit) => child.once('exit', () => resolveExit()));
  }

  async waitReady(signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + 60_000;
    let lastError = '';
    while (Date.now() < deadline) {
      signal.throwIfAborted();
      if (this.child?.exitCode !== null || this.child?.signalCode !== null) {
        throw new RestoreproofError('E_PROVISION', `postgres exited during start-up: ${this.logTail(5)}`);
      }
      const client = new pg.Client({ ...this.endpoint, database: 'postgres', connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
        this.version = rows[0]?.v ?? '';
        return;
      } catch (err) {
        lastError = (err as Error).message;
      } finally {
        await client.end().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new RestoreproofError('E_PROVISION', `postgres did not accept connections within 60s (${lastError}); log: ${this.logTail(5)}`);
  }

  logTail(lines: number): string {
    return this.log.trim().split('\n').slice(-lines).join(' | ');
  }

  exec(tool: string, args: string[], options: ExecOptions = {}): Promise<ToolResult> {
    return runTool({
      command: join(this.binDir, tool),
      args,
      env: { PGHOST: this.endpoint.host, PGPORT: String(this.endpoint.port), PGUSER: this.endpoint.user, PGPASSWORD: this.endpoint.password, ...options.env },
      ...(options.stdin ? { stdin: options.stdin } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  connectionHelp(): string[] {
    const { host, port, user } = this.endpoint;
    return [
      `${this.name}: postgres://${user}@${host}:${port}/postgres  (data dir ${this.dir}/data, pid ${this.child?.pid})`,
      `  password: generated; it was not printed. Reset it: ${join(this.binDir, 'psql')} -h ${this.dir} -p ${port} -U ${user} postgres (socket auth needs the server's account)`,
      `  stop it: kill -INT ${this.child?.pid} && rm -rf ${this.dir}`,
    ];
  }

  keep(): void {
    this.kept = true;
    this.child?.unref();
    (this.child?.stderr as { unref?: () => void } | null)?.unref?.();
  }

  async stop(): Promise<void> {
    if (this.stopped || this.kept) return;
    this.stopped = true;
    const child = this.child;
    const processRecord = this.resources.find((r) => r.kind === 'process');
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    if (processRecord) processRecord.removed = true;
    const dirRecord = this.resources.find((r) => r.kind === 'directory');
    try {
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
      if (dirRecord) dirRecord.removed = true;
    } catch (err) {
      if (dirRecord) dirRecord.error = (err as Error).message;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
