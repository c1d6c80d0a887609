import { chown, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, LocalServer, unprivilegedAccount } from '../../src/runtimes/local/server.ts';
import { runTool } from '../../src/util/process.ts';
import { testbed } from './backends.ts';

export interface PgbackrestFixture {
  /** repo1-path */
  repo: string;
  stanza: string;
  /** After the full backup, before the rows the differential backup holds. */
  afterFull: string;
  /** After the differential backup, before the last rows. */
  afterDiff: string;
  labels: string[];
  /** Rows of `items` by phase: full (10), diff (5), after (3). */
  /** A B-tree index whole in the full backup and corrupted on disk (one page) before the differential one. */
  corruptedIndex: string;
}

/**
 * A real pgBackRest repository: an ephemeral PostgreSQL archiving WAL with `pgbackrest
 * archive-push`, a full backup, 5 rows, one index page overwritten on disk, a differential backup,
 * 3 more rows, WAL archived. Runs as
 * the unprivileged account when root; `root` must be traversable by it.
 */
export async function makePgbackrestRepo(root: string): Promise<PgbackrestFixture> {
  const env = testbed().backends.postgres as { binDir: string; pgbackrest: string };
  const account = await unprivilegedAccount();
  const own = async (path: string) => {
    if (account) await chown(path, account.uid, account.gid);
  };
  const stanza = 'demo';
  const repo = join(root, 'pgbackrest-repo');
  await mkdir(repo, { recursive: true });
  await own(repo);
  const server = await LocalServer.create({ runId: 'pgbackrest-fixture', storeName: 'source' }, account);
  try {
    const data = join(server.dir, 'data');
    const config = join(server.dir, 'pgbackrest.conf');
    const port = await freePort();
    await writeFile(config, [
      '[global]', `repo1-path=${repo}`, 'repo1-retention-full=2', `lock-path=${join(server.dir, 'lock')}`, `log-path=${join(server.dir, 'log')}`,
      'log-level-file=off', 'log-level-console=warn', 'start-fast=y', '',
      `[${stanza}]`, `pg1-path=${data}`, `pg1-socket-path=${server.dir}`, `pg1-port=${port}`, 'pg1-user=postgres', '',
    ].join('\n'));
    await own(config);
    const tool = async (command: string, args: string[]) => {
      const r = await runTool({ command, args, cwd: server.dir, ...account, captureStdout: true });
      if (r.exitCode !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${r.exitCode}: ${r.stderr}`);
      return r.stdout;
    };
    await tool(join(env.binDir, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    server.start(join(env.binDir, 'postgres'), [
      '-D', data, '-p', String(port), '-c', "listen_addresses=", '-c', `unix_socket_directories=${server.dir}`,
      '-c', 'wal_level=replica', '-c', 'archive_mode=on', '-c', `archive_command=${env.pgbackrest} --config=${config} --stanza=${stanza} archive-push %p`,
    ], { ...(account ? { account } : {}), stopSignal: 'SIGINT' });
    const connect = async () => {
      const client = new pg.Client({ host: server.dir, port, user: 'postgres', database: 'postgres' });
      await client.connect();
      return client;
    };
    await server.waitReady('fixture postgres', async () => (await connect()).end(), new AbortController().signal);
    const client = await connect();
    try {
      const pgbackrest = (...args: string[]) => tool(env.pgbackrest, [`--config=${config}`, `--stanza=${stanza}`, ...args]);
      const now = async () => (await client.query<{ t: string }>("select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t")).rows[0]!.t;
      await client.query('create table items (id serial primary key, phase text not null)');
      await client.query("insert into items (phase) select 'full' from generate_series(1, 10)");
      // Never written after the full backup, so no WAL record repairs the page a restore finds corrupted.
      await client.query('create table ledger (id int primary key, amount int not null) with (autovacuum_enabled = false)');
      await client.query('insert into ledger select g, g from generate_series(1, 2000) g');
      await client.query('create index ledger_amount_idx on ledger (amount)');
      await pgbackrest('stanza-create');
      await pgbackrest('check');
      await pgbackrest('--type=full', 'backup');
      const afterFull = await now();
      await client.query("insert into items (phase) select 'diff' from generate_series(1, 5)");
      await client.query('checkpoint');
      await corruptBtreeLeaf(join(data, (await client.query<{ path: string }>("select pg_relation_filepath('ledger_amount_idx') as path")).rows[0]!.path));
      await pgbackrest('--type=diff', 'backup');
      const afterDiff = await now();
      await client.query("insert into items (phase) select 'after' from generate_series(1, 3)");
      // check switches WAL and waits until the segment holding the last rows is archived.
      await pgbackrest('check');
      const info = JSON.parse(await pgbackrest('--output=json', 'info')) as { backup: { label: string }[] }[];
      return { repo, stanza, afterFull, afterDiff, labels: info[0]!.backup.map((b) => b.label), corruptedIndex: 'public.ledger_amount_idx' };
    } finally {
      await client.end().catch(() => {});
    }
  } finally {
    await server.stop();
  }
}

/**
 * Overwrites the int4 key of the second item of block 1 (a leaf of a one-int-column B-tree) with
 * the largest int4, so the page's keys are out of order, as a torn or misdirected write leaves them.
 */
async function corruptBtreeLeaf(file: string): Promise<void> {
  const pageSize = 8192;
  const handle = await open(file, 'r+');
  try {
    const page = Buffer.alloc(pageSize);
    await handle.read(page, 0, pageSize, pageSize);
    const itemId = page.readUInt32LE(24 + 4); // line pointer 2, after the 24-byte page header
    const tupleOffset = itemId & 0x7fff;
    const key = Buffer.alloc(4);
    key.writeInt32LE(0x7fffffff);
    await handle.write(key, 0, 4, pageSize + tupleOffset + 8); // past the 8-byte index tuple header
  } finally {
    await handle.close();
  }
}
