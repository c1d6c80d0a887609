import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ArtefactError, RestoreproofError } from '../../errors.ts';
import type { StoreSpec, StoreSpecOf } from '../../drill/types.ts';
import { runTool } from '../../util/process.ts';
import { registerSecret } from '../../util/redact.ts';
import { isExecutable, resolveBinary } from '../../util/tools.ts';
import type { ProvisionRequest, StartedStore } from '../../runtimes/types.ts';
import type { LocalServerDeclaration } from '../../runtimes/servers.ts';
import { describeLocalBinary, freePort, LocalServer, LocalStore } from '../../runtimes/local/server.ts';
import { mariadbServerVersion } from './client.ts';
import { adminAccountSql, clientOptionFile } from './account.ts';
import { physicalStep, prepareLocally } from './physical.ts';

const hint = 'install MariaDB (Debian: apt-get install mariadb-server mariadb-client)';

/** mariadbd: the store's `server`, $RESTOREPROOF_MARIADBD, then on PATH, then /usr/sbin (where Debian puts it). */
export async function mariadbdBinary(spec: Pick<StoreSpecOf<'mariadb'>, 'server'>): Promise<string> {
  try {
    return await resolveBinary({ explicit: spec.server, envVar: 'RESTOREPROOF_MARIADBD', names: ['mariadbd', 'mysqld'] }, 'mariadbd (MariaDB server)', `${hint}, or set server in the store`);
  } catch (err) {
    if (!spec.server && (await isExecutable('/usr/sbin/mariadbd'))) return '/usr/sbin/mariadbd';
    throw err;
  }
}

/** A client-side tool: beside mariadbd's bin dir (…/sbin → …/bin), else on PATH. */
async function companion(server: string, names: string[], what: string): Promise<string> {
  for (const dir of [dirname(server), join(dirname(server), '..', 'bin')]) {
    for (const name of names) if (await isExecutable(join(dir, name))) return join(dir, name);
  }
  return resolveBinary({ envVar: `RESTOREPROOF_${names[0]!.toUpperCase().replace(/-/g, '_')}`, names }, what, hint);
}

const installDb = (server: string) => companion(server, ['mariadb-install-db', 'mysql_install_db'], 'mariadb-install-db');
const client = (server: string) => companion(server, ['mariadb', 'mysql'], 'mariadb (the MariaDB client)');
const backupTool = (server: string) => companion(server, ['mariadb-backup', 'mariabackup'], 'mariadb-backup (Debian: apt-get install mariadb-backup)');
const mbstream = (server: string) => companion(server, ['mbstream'], 'mbstream (Debian: apt-get install mariadb-backup)');
const binlogTool = (server: string) => companion(server, ['mariadb-binlog', 'mysqlbinlog'], 'mariadb-binlog (the MariaDB client)');

/**
 * MariaDB in a fresh temp dir owned by the server's account: mariadb-install-db (root only through
 * the socket of its OS account), then mariadbd on a free loopback port, its socket in the dir, with
 * a generated admin created by an init file that is deleted once the server answers. The client
 * reads the admin's password from an option file of ours (MYSQL_HOME), never from its arguments.
 * A physical backup (the first step) is prepared into the data dir instead of mariadb-install-db;
 * the init file then re-creates the admin in the grant tables the backup brought.
 */
export async function startLocalMariadb(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as StoreSpecOf<'mariadb'>;
  const binary = await mariadbdBinary(spec);
  const [installer, mariadb] = [await installDb(binary), await client(binary)];
  const server = await LocalServer.forStore(request);
  try {
    const dir = server.dir;
    const data = join(dir, 'data');
    const files = join(dir, 'files');
    await mkdir(files, { mode: 0o700 });
    await server.own(files);
    const physical = physicalStep(spec, request.artefacts);
    if (physical) {
      const tools = { backup: await backupTool(binary), mbstream: await mbstream(binary) };
      await prepareLocally({ dir, data, ref: physical.ref, artefact: physical.artefact, tools, account: server.account, signal: request.signal });
      await server.own(data);
    } else {
      const init = await runTool({
        command: installer,
        args: ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve'],
        cwd: dir, signal: request.signal, ...server.account,
      });
      if (init.exitCode !== 0) throw new RestoreproofError('E_PROVISION', `mariadb-install-db failed (exit ${init.exitCode ?? init.signal}): ${init.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }

    const user = `restoreproof_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(24).toString('base64url');
    registerSecret(password);
    const initFile = join(dir, 'init.sql');
    await writeFile(initFile, adminAccountSql(user, password), { mode: 0o600 });
    await server.own(initFile);
    const port = await freePort();
    server.start(binary, [
      '--no-defaults', `--datadir=${data}`, `--socket=${join(dir, 'mysqld.sock')}`, `--pid-file=${join(dir, 'mariadbd.pid')}`,
      `--port=${port}`, '--bind-address=127.0.0.1', '--skip-name-resolve', `--init-file=${initFile}`,
      // A backup's LOAD DATA LOCAL, SELECT … INTO OUTFILE and LOAD_FILE reach no file outside the run.
      '--local-infile=0', `--secure-file-priv=${files}`,
      // Ephemeral: durability buys nothing here and costs restore time.
      '--innodb-flush-log-at-trx-commit=0', '--skip-log-bin', '--innodb-doublewrite=0',
    ]);
    const endpoint = { host: '127.0.0.1', port, user, password };
    const version = await server.waitReady('mariadbd', () => mariadbServerVersion(endpoint), request.signal).catch((err: unknown) => {
      throw physical && !request.signal.aborted ? new ArtefactError(physical.ref, `mariadbd did not start on the data dir prepared from it: ${(err as Error).message}`) : err;
    });
    await rm(initFile, { force: true });
    await writeFile(join(dir, 'my.cnf'), clientOptionFile(user, password, { host: '127.0.0.1', port }), { mode: 0o600 });
    return new LocalStore({
      name: request.storeName,
      engine: request.spec.engine,
      server,
      endpoint,
      version,
      tool: (name) => (name === 'mariadb' ? mariadb : join(dirname(mariadb), name)),
      toolEnv: { MYSQL_HOME: dir },
      ...(physical ? { restoredAtStart: [physical.artefact.step] } : {}),
      url: (database) => `mysql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database ? encodeURIComponent(database) : ''}`,
      connectionHelp: () => [
        `${request.storeName}: mysql://${user}@127.0.0.1:${port}/  (data dir ${data}, pid ${server.pid})`,
        `  password: generated and not printed; connect with its option file: MYSQL_HOME=${dir} ${mariadb}`,
        `  stop it: kill ${server.pid} && rm -rf ${dir}`,
      ],
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** MariaDB on the local runtime: mariadb-install-db in a temp dir, then mariadbd on loopback. */
export const mariadbLocalServer: LocalServerDeclaration = {
  start: startLocalMariadb,
  describe: (spec: StoreSpec) => describeLocalBinary(() => mariadbdBinary(spec as StoreSpecOf<'mariadb'>), 'mariadb-install-db, a generated admin password'),
  tools: async (spec: StoreSpec) => {
    const server = () => mariadbdBinary(spec as StoreSpecOf<'mariadb'>);
    const steps = (spec as StoreSpecOf<'mariadb'>).restore;
    return [
      { name: 'mariadbd', find: server },
      { name: 'mariadb-install-db', find: async () => installDb(await server()) },
      { name: 'mariadb', find: async () => client(await server()) },
      ...(steps.some((s) => s.format === 'physical') ? [{ name: 'mariadb-backup', find: async () => backupTool(await server()) }, { name: 'mbstream', find: async () => mbstream(await server()) }] : []),
      ...(steps.some((s) => s.binlogs) ? [{ name: 'mariadb-binlog', find: async () => binlogTool(await server()) }, { name: 'bash', find: () => resolveBinary({ envVar: 'RESTOREPROOF_BASH', names: ['bash'] }, 'bash', 'binlog replay pipes mariadb-binlog into mariadb through bash') }] : []),
    ];
  },
};
