import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestoreproofError, ToolNotFoundError } from '../../errors.ts';
import { postgresServerVersion } from './connect.ts';
import type { PostgresStoreSpec, StoreSpec } from '../../drill/types.ts';
import { runTool } from '../../util/process.ts';
import { registerSecret } from '../../util/redact.ts';
import { findOnPath, isExecutable, listDir } from '../../util/tools.ts';
import type { ProvisionRequest, StartedStore } from '../../runtimes/types.ts';
import type { LocalServerDeclaration, LocalTool } from '../../runtimes/servers.ts';
import { freePort, LocalServer, LocalStore } from '../../runtimes/local/server.ts';
import { MEMORY_ROOT } from '../../runtimes/local/data-root.ts';
import { finishRecovery, pgbackrestBinary, pgbackrestStep, restorePgbackrest } from './pgbackrest-restore.ts';
import { readPgbackrestRepo } from './pgbackrest.ts';

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

export async function describeLocalPostgres(spec: PostgresStoreSpec): Promise<string[]> {
  let binDir: string;
  try {
    binDir = await findPostgresBinDir(spec);
  } catch (err) {
    return [`!! ${(err as Error).message}`];
  }
  return [
    `create temp dir ${tmpdir()}/restoreproof-<run-id>-<store>-* (in ${MEMORY_ROOT} when the data fits, RESTOREPROOF_LOCAL_DATA)`,
    `${binDir}/initdb --auth=scram-sha-256 -U restoreproof_<random> (generated password)`,
    `${binDir}/postgres on 127.0.0.1:<free port>, fsync off (ephemeral)`,
  ];
}

/** Starts an ephemeral PostgreSQL server in a fresh temp dir, on a free loopback port, with a generated password. */
export async function startLocalPostgres(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as PostgresStoreSpec;
  // A pgBackRest repository is restored into the data dir instead of initdb; its PostgreSQL major picks the binaries.
  const pgbr = pgbackrestStep(spec, request.artefacts);
  const pgbrVersion = pgbr && !spec.version ? (await readPgbackrestRepo(pgbr.artefact.info.path, pgbr.step.stanza!, pgbr.step.artefact)).pgVersion : undefined;
  const binDir = await findPostgresBinDir(pgbrVersion ? { ...spec, version: pgbrVersion } : spec);
  const server = await LocalServer.forStore(request);
  const account = server.account;
  const own = (path: string) => server.own(path);
  try {
    const superuser = newSuperuser();
    const password = randomBytes(24).toString('base64url');
    registerSecret(password);
    const pwfile = join(server.dir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    await own(pwfile);
    const data = join(server.dir, 'data');
    await mkdir(data, { mode: 0o700 });
    await own(data);

    const restoredArgs = pgbr ? await restorePgbackrest({ dir: server.dir, data, ...pgbr, account, signal: request.signal }) : [];
    const init = pgbr ? undefined : await runTool({
      command: join(binDir, 'initdb'),
      args: ['-D', data, '-U', superuser, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'],
      signal: request.signal,
      ...account,
    });
    await rm(pwfile, { force: true });
    if (init && init.exitCode !== 0) throw new RestoreproofError('E_PROVISION', `initdb failed (exit ${init.exitCode ?? init.signal}): ${init.stderr.trim().split('\n').slice(-3).join(' | ')}`);

    const port = await freePort();
    server.start(
      join(binDir, 'postgres'),
      ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${server.dir}`,
        '-c', `cluster_name=restoreproof-${request.runId}-${request.storeName}`,
        // Ephemeral: durability buys nothing here and costs restore time.
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        // In memory, dynamic shared memory lives in the data dir rather than as /dev/shm/PostgreSQL.*
        // segments, which a server that dies unclean leaves behind; the dir goes with the run.
        ...(server.inMemory ? ['-c', 'dynamic_shared_memory_type=mmap'] : []), ...restoredArgs],
      // Immediate shutdown: no checkpoint of data about to be deleted, and the postmaster still takes its backends and shared memory with it.
      { stopSignal: 'SIGQUIT' },
    );
    const endpoint = { host: '127.0.0.1', port, user: superuser, password };
    // Client tools read the password from a file of ours (0600), never from their environment.
    const pgpass = join(server.dir, 'pgpass');
    await writeFile(pgpass, `127.0.0.1:${port}:*:${superuser}:${password}\n`, { mode: 0o600 });
    if (pgbr) await finishRecovery({ server, port, superuser, password, ref: pgbr.step.artefact, signal: request.signal });
    const version = await server.waitReady('postgres', () => postgresServerVersion(endpoint), request.signal);
    return new LocalStore({
      name: request.storeName,
      engine: 'postgres',
      server,
      endpoint,
      version,
      tool: (name) => join(binDir, name),
      ...(pgbr ? { restoredAtStart: [pgbr.artefact.step] } : {}),
      toolEnv: { PGHOST: endpoint.host, PGPORT: String(port), PGUSER: superuser, PGPASSFILE: pgpass },
      url: (database = 'postgres') => `postgres://${superuser}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
      connectionHelp: () => [
        `${request.storeName}: postgres://${superuser}@127.0.0.1:${port}/postgres  (data dir ${server.dir}/data, pid ${server.pid})`,
        `  password: generated and not printed; connect over the socket as the server's account: psql -h ${server.dir} -p ${port} -U ${superuser} postgres`,
        `  stop it: kill -INT ${server.pid} && rm -rf ${server.dir}`,
      ],
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Every binary a store's server and restore run: one lookup finds the bin dir; pgBackRest when a step restores with it. */
async function postgresTools(spec: PostgresStoreSpec): Promise<LocalTool[]> {
  const names = [...serverTools, ...clientTools];
  let binDir: string;
  try {
    binDir = await findPostgresBinDir(spec);
  } catch (err) {
    return [{ name: names.join(', '), find: () => Promise.reject(err) }];
  }
  const tools: LocalTool[] = names.map((name) => ({ name, find: async () => join(binDir, name) }));
  if (spec.restore.some((s) => s.format === 'pgbackrest')) tools.push({ name: 'pgbackrest', find: pgbackrestBinary, versionArgs: ['version'] });
  return tools;
}

/** PostgreSQL on the local runtime: initdb (or a pgBackRest restore) in a temp dir, then postgres on loopback. */
export const postgresLocalServer: LocalServerDeclaration = {
  start: startLocalPostgres,
  describe: (spec: StoreSpec) => describeLocalPostgres(spec as PostgresStoreSpec),
  tools: (spec: StoreSpec) => postgresTools(spec as PostgresStoreSpec),
};
