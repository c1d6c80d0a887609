// Smoke test of the test bed's PostgreSQL 15: a throwaway cluster in a temp dir on a free
// 127.0.0.1 port, reached through `pg`, the client the product uses.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { requireBackends, testbed, requireFiles, freePort } from '../support/backends.ts';


/** PostgreSQL refuses to run as root; under root the cluster belongs to the `postgres` user. */
function asPgUser(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { prefix: ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--init-groups'], uid, gid };
}

function run(cmd: string[]): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}



describe('test bed: postgres (PostgreSQL 15)', function () {
  let dir: string | undefined;
  let pgdata = '';
  let binDir = '';
  let port = 0;
  let started = false;
  const password = `pw-${process.pid}-${Date.now()}`;
  const user = asPgUser();

  before(async function () {
    requireBackends(this, 'postgres');
    binDir = String(testbed().backends.postgres!.binDir);
    requireFiles(this, 'postgres', ['postgres', 'initdb', 'pg_ctl', 'pg_dump', 'pg_restore', 'psql'].map((b) => join(binDir, b)));
    dir = mkdtempSync(join(tmpdir(), 'restoreproof-testbed-pg-'));
    pgdata = join(dir, 'data');
    if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`);
    if (user.uid !== undefined) chownSync(pwfile, user.uid, user.gid!);
    run([...user.prefix, join(binDir, 'initdb'), '-D', pgdata, '-U', 'restoreproof', `--pwfile=${pwfile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256']);
    port = await freePort();
    run([...user.prefix, join(binDir, 'pg_ctl'), '-D', pgdata, '-l', join(dir, 'server.log'), '-w', '-t', '120',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
    started = true;
  });

  after(function () {
    if (started) run([...user.prefix, join(binDir, 'pg_ctl'), '-D', pgdata, '-m', 'immediate', '-w', 'stop']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects with pg over TCP with a password and runs queries', async function () {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'restoreproof', password, database: 'postgres' });
    await client.connect();
    try {
      const v = await client.query<{ server_version_num: string }>('SHOW server_version_num');
      assert.equal(v.rows[0]!.server_version_num.slice(0, 2), '15');
      await client.query('CREATE TABLE t (id int PRIMARY KEY, name text)');
      await client.query("INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 100) g");
      const c = await client.query<{ n: string }>('SELECT count(*) AS n FROM t');
      assert.equal(Number(c.rows[0]!.n), 100);
    } finally {
      await client.end();
    }
  });

  it('has the client tools the drills use (pg_dump, pg_restore, psql)', function () {
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      assert.match(run([join(binDir, tool), '--version']), /\(PostgreSQL\) 15\./);
    }
  });
});
