import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testbed } from './backends.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MariadbPitrFixture {
  /** mariadb-backup --backup --target-dir (rows 1 and 2). */
  directory: string;
  /** mariadb-backup --stream=xbstream, at the same point. */
  xbstream: string;
  /** mariadb-dump --master-data=2 --databases shop, at the same point. */
  dump: string;
  /** binlog.000001 and binlog.000002: row 3 before the target; rows 4 and 5 after it. */
  binlogs: string;
  /** An ISO time between row 3 and row 4, each a second or more away from it. */
  target: string;
}

/**
 * A real source server with binary logging (run as root, socket only, in `dir`), backed up with
 * the real mariadb-backup (a directory and an xbstream) and mariadb-dump --master-data=2 at the
 * same point; then a row before the target and rows after it, each in its own second (binlog times
 * have whole seconds), in binlogs closed by FLUSH BINARY LOGS. The server is stopped and its data removed.
 */
export async function makeMariadbPitrFixture(dir: string): Promise<MariadbPitrFixture> {
  const tools = testbed().backends.mariadb as Record<string, string>;
  const source = join(dir, 'source');
  const socket = join(source, 'mysqld.sock');
  await run(tools.installDb!, ['--no-defaults', `--datadir=${join(source, 'data')}`, '--user=root', '--auth-root-authentication-method=socket', '--skip-test-db']);
  const server: ChildProcess = spawn(tools.server!, [
    '--no-defaults', '--user=root', `--datadir=${join(source, 'data')}`, `--socket=${socket}`, `--pid-file=${join(source, 'pid')}`,
    '--skip-networking', `--log-bin=${join(source, 'data', 'binlog')}`, '--server-id=1', '--binlog-format=ROW',
  ], { stdio: 'ignore' });
  const sql = (statements: string) => run(tools.client!, ['--no-defaults', `--socket=${socket}`, '--user=root', '-e', statements]);
  const fixture: MariadbPitrFixture = { directory: join(dir, 'full'), xbstream: join(dir, 'full.xbstream'), dump: join(dir, 'shop.sql'), binlogs: join(dir, 'binlogs'), target: '' };
  try {
    for (let i = 0; ; i++) {
      try {
        await sql('SELECT 1');
        break;
      } catch (err) {
        if (i > 150) throw err;
        await sleep(200);
      }
    }
    await sql("CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, era VARCHAR(20)); INSERT INTO shop.items VALUES (1, 'backup'), (2, 'backup')");
    const backupArgs = ['--no-defaults', '--backup', `--socket=${socket}`, '--user=root'];
    await run(tools.backup!, [...backupArgs, `--target-dir=${fixture.directory}`]);
    const streamed = spawn(tools.backup!, [...backupArgs, '--stream=xbstream', `--target-dir=${join(dir, 'xbstream-tmp')}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    streamed.stdout!.pipe(createWriteStream(fixture.xbstream));
    assert.equal(await new Promise((r) => streamed.once('close', r)), 0, 'mariadb-backup --stream=xbstream');
    await run(tools.dump!, ['--no-defaults', `--socket=${socket}`, '--user=root', '--single-transaction', '--master-data=2', '--databases', 'shop', `--result-file=${fixture.dump}`]);
    await sql("INSERT INTO shop.items VALUES (3, 'before target')");
    await sleep(1100);
    fixture.target = new Date(Math.ceil(Date.now() / 1000) * 1000).toISOString();
    await sleep(Date.parse(fixture.target) - Date.now() + 1100);
    await sql("INSERT INTO shop.items VALUES (4, 'after target'); FLUSH BINARY LOGS; INSERT INTO shop.items VALUES (5, 'after target'); FLUSH BINARY LOGS");
    await mkdir(fixture.binlogs);
    for (const name of ['binlog.000001', 'binlog.000002']) await cp(join(source, 'data', name), join(fixture.binlogs, name));
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
    await rm(source, { recursive: true, force: true });
  }
  return fixture;
}

/** A digest of every file's path and bytes under `dir`: a restore must leave its source as it was. */
export async function treeDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort()) {
    hash.update(`${entry}\0`).update(await readFile(entry));
  }
  return hash.digest('hex');
}
