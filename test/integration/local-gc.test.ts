// `restoreproof gc --runtime local`: leftovers of local runs whose harness died before its teardown
// (server processes and `restoreproof-<run-id>-*` temp dirs) go once the run has expired; newer
// runs and foreign files stay. The leftovers are planted in a test-owned TMPDIR.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRunId } from '../../src/run/identity.ts';
import { freePort, requireBackends, testbed } from '../support/backends.ts';
import { runCli } from '../support/fixtures.ts';

describe('gc --runtime local', function () {
  let dir: string;
  const children: ChildProcess[] = [];

  /** A process that names the dir on its command line, as the local runtime's servers do (-D <dir>). */
  function serverIn(path: string): ChildProcess {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', path], { stdio: 'ignore' });
    children.push(child);
    return child;
  }
  const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rp-gc-local-'));
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('stops the processes and removes the dirs of expired runs; unexpired runs and foreign files stay', async () => {
    const old = '20200101T000000Z-0a1b2c';
    const fresh = newRunId();
    for (const name of [`restoreproof-${old}-db-Ab12Cd`, `restoreproof-${old}-staging-Ef34Gh`, `restoreproof-${fresh}-db-Ij56Kl`, 'restoreproof-not-a-run', 'someone-else']) await mkdir(join(dir, name));
    const oldServer = serverIn(join(dir, `restoreproof-${old}-db-Ab12Cd`));
    const freshServer = serverIn(join(dir, `restoreproof-${fresh}-db-Ij56Kl`));
    await new Promise((r) => setTimeout(r, 300));

    const dry = await runCli(['gc', '--runtime', 'local', '--dry-run', '--json'], { env: { TMPDIR: dir } });
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout) as { kind: string; run: string; action: string; id: string }[];
    assert.deepEqual(planned.filter((a) => a.action === 'removed').map((a) => [a.kind, a.run]).sort(), [['directory', old], ['directory', old], ['process', old]]);
    assert.equal(planned.find((a) => a.kind === 'process' && a.run === old)!.id, String(oldServer.pid));
    assert.equal(exited(oldServer), false, 'a dry run stops nothing');
    assert.equal((await readdir(dir)).length, 5, 'a dry run removes nothing');

    const result = await runCli(['gc', '--runtime', 'local'], { env: { TMPDIR: dir } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`removed process ${oldServer.pid} .*\\(run ${old}\\): expired at 2020-01-02T00:00:00.000Z`));
    assert.match(result.stdout, new RegExp(`kept directory restoreproof-${fresh}-db-Ij56Kl \\(run ${fresh}\\): expires at `));
    assert.match(result.stderr, /gc: 3 removed, 2 kept/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(exited(oldServer), true, 'the expired run\'s server is stopped');
    assert.equal(exited(freshServer), false, 'the unexpired run\'s server runs on');
    assert.deepEqual((await readdir(dir)).sort(), [`restoreproof-${fresh}-db-Ij56Kl`, 'restoreproof-not-a-run', 'someone-else']);
  });

  it('finds a real redis-server by its working dir, though it rewrote its title over argv and environ', async function () {
    requireBackends(this, 'redis');
    const redis = testbed().backends.redis!.server as string;
    const old = '20200101T000000Z-3d4e5f';
    const runDir = join(dir, `restoreproof-${old}-cache-Mn78Op`);
    await mkdir(runDir);
    const server = spawn(redis, ['--port', String(await freePort()), '--bind', '127.0.0.1', '--dir', runDir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore', cwd: dir });
    children.push(server);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(exited(server), false, 'redis-server started');
    const cmdline = await readFile(`/proc/${server.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(old), `redis keeps the run id out of its title (${cmdline})`);

    const result = await runCli(['gc', '--runtime', 'local'], { env: { TMPDIR: dir } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`removed process ${server.pid} .*\\(run ${old}\\)`));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(exited(server), true, 'the leftover redis-server is stopped');
  });

  it('an unknown runtime is a usage error', async () => {
    const result = await runCli(['gc', '--runtime', 'nomad']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /gc sweeps local, containers or kubernetes \(asked: nomad\)/);
  });
});
