// Smoke test of the test bed's Redis 7: BGSAVE in one throwaway redis-server produces an RDB
// file that a second one loads. Driven with redis-cli.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireBackends, testbed, requireFiles, freePort } from '../support/backends.ts';




describe('test bed: redis (Redis 7)', function () {
  let dir: string | undefined;
  let server = '';
  let cliPath = '';
  const procs: ChildProcess[] = [];

  function cli(port: number, ...args: string[]): string {
    const r = spawnSync(cliPath, ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  }

  async function startRedis(dataDir: string): Promise<number> {
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const p = spawn(server, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir,
      '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
    procs.push(p);
    // Wait until it answers (or has died).
    for (;;) {
      if (p.exitCode !== null) throw new Error(`redis-server exited with ${p.exitCode}`);
      const r = spawnSync(cliPath, ['-h', '127.0.0.1', '-p', String(port), 'PING'], { encoding: 'utf8' });
      if (r.stdout.trim() === 'PONG') return port;
      await sleep(100);
    }
  }

  before(function () {
    requireBackends(this, 'redis');
    server = String(testbed().backends.redis!.server);
    cliPath = String(testbed().backends.redis!.cli);
    requireFiles(this, 'redis', [server, cliPath]);
    dir = mkdtempSync(join(tmpdir(), 'restoreproof-testbed-redis-'));
  });

  after(async function () {
    for (const p of procs) {
      if (p.exitCode === null && p.signalCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await exited;
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('BGSAVE writes an RDB that a second redis-server loads', async function () {
    const first = await startRedis(join(dir!, 'a'));
    assert.match(cli(first, 'INFO', 'server'), /redis_version:7\./);
    for (let i = 0; i < 50; i++) cli(first, 'SET', `key:${i}`, `value-${i}`);
    cli(first, 'RPUSH', 'list', 'a', 'b', 'c');
    cli(first, 'HSET', 'hash', 'f1', 'v1', 'f2', 'v2');
    const before = Number(cli(first, 'LASTSAVE'));
    assert.match(cli(first, 'BGSAVE'), /Background saving started/);
    // Wait until the background save has finished.
    for (;;) {
      const info = cli(first, 'INFO', 'persistence');
      if (/rdb_bgsave_in_progress:0/.test(info) && Number(cli(first, 'LASTSAVE')) >= before &&
        /rdb_last_bgsave_status:ok/.test(info) && existsSync(join(dir!, 'a', 'dump.rdb'))) break;
      await sleep(100);
    }
    const rdb = join(dir!, 'a', 'dump.rdb');
    assert.ok(statSync(rdb).size > 0);
    assert.equal(spawnSync(join(dirname(server), 'redis-check-rdb'), [rdb]).status, 0, 'redis-check-rdb accepts the file');

    mkdirSync(join(dir!, 'b'));
    copyFileSync(rdb, join(dir!, 'b', 'dump.rdb'));
    const second = await startRedis(join(dir!, 'b'));
    assert.equal(Number(cli(second, 'DBSIZE')), 52);
    assert.equal(cli(second, 'GET', 'key:42'), 'value-42');
    assert.equal(cli(second, 'LRANGE', 'list', '0', '-1'), 'a\nb\nc');
    assert.equal(cli(second, 'HGET', 'hash', 'f2'), 'v2');
  });
});
