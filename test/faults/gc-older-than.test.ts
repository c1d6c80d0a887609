// Issue 14, deliverable 4: `gc --older-than` removes the leftovers of a run whose harness is gone
// and never those of a run whose harness still runs; the expiry is the one recorded when the
// resource was created, whatever RESTOREPROOF_CONTAINER_TTL says when gc runs.
// Local: a real run in progress and planted dead runs, in a TMPDIR of the test's own (gc also
// sweeps /dev/shm, where runs keep data that fits in memory, so only this test's runs are judged). Containers: planted resources whose run ids date from 2019, so an
// --older-than of 2500 days matches nothing a real run made.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRunId } from '../../src/run/identity.ts';
import { harnessLabels } from '../../src/runtimes/shared/ownership.ts';
import { processIdentity, type ProcessIdentity } from '../../src/util/owner.ts';
import { requireBackends, testbed, testbedImageEnv, useTestbedBinaries } from '../support/backends.ts';
import { dockerCli, removeDockerObjects } from '../support/docker-cli.ts';
import { recordFault } from '../support/faults.ts';
import { demoBackups, fixtureDrill, processesMatching, runCli, type CliResult } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

interface Action {
  kind: string;
  id: string;
  name: string;
  run: string;
  action: string;
  reason: string;
}

describe('faults: gc --older-than and a harness that still runs', function () {
  const children: ChildProcess[] = [];
  const planted: string[] = [];
  const plantedNetworks: string[] = [];
  let scratch: string;

  /** A process that names `path` on its command line, as the local runtime's servers do (-D <dir>). */
  function serverIn(path: string): ChildProcess {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', path], { stdio: 'ignore' });
    children.push(child);
    return child;
  }
  /** The identity of a process that ran and was SIGKILLed: a harness that died. */
  async function deadHarness(): Promise<ProcessIdentity> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    const identity = processIdentity(child.pid!);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    return identity;
  }
  const gone = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
  const actionsOf = (result: CliResult) => JSON.parse(result.stdout) as Action[];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'rp-gc-'));
    // As /tmp: the servers' unprivileged account must reach its dir inside.
    await chmod(scratch, 0o755);
  });
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    removeDockerObjects({ containers: planted, networks: plantedNetworks });
    await rm(scratch, { recursive: true, force: true });
  });

  it('local: the recorded expiry decides, not the TTL gc runs with; --older-than takes a dead run and leaves a running one alone', async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    const env = { TMPDIR: scratch };
    // Two dead runs of today: one recorded an expiry in 2099, the other one that has passed.
    const dead = await deadHarness();
    const [keptRun, expiredRun] = [newRunId(), newRunId()];
    const plant = async (run: string, expiresAt: string) => {
      const dir = join(scratch, `restoreproof-${run}-db-Ab12Cd`);
      await mkdir(dir);
      await writeFile(join(scratch, `restoreproof-${run}-owner.json`), JSON.stringify({ runId: run, expiresAt, harness: dead }));
      return serverIn(dir);
    };
    const keptServer = await plant(keptRun, '2099-01-01T00:00:00.000Z');
    const expiredServer = await plant(expiredRun, '2020-01-02T00:00:00.000Z');

    const fixtures = (await demoBackups()).dir;
    // A run in progress: its harness runs (blocked in the restore) while gc looks at it.
    let live: Promise<CliResult> | undefined;
    let harnessPid = 0;
    const restoring = new Promise<void>((resolveRestoring) => {
      live = runCli(['run', fixtureDrill('slow.yaml'), '--runtime', 'local', '--report-dir', join(scratch, 'reports'), '--json'], {
        env: { ...env, RESTOREPROOF_FIXTURES: fixtures, RESTOREPROOF_HISTORY: '' },
        killAfterMs: 300_000,
        onStderr: (text, child) => {
          if (harnessPid || !/restore app: psql/.test(text)) return;
          harnessPid = child.pid!;
          resolveRestoring();
        },
      });
      live.then(() => resolveRestoring());
    });
    await restoring;
    if (!harnessPid) assert.fail(`the live run never reached its restore:\n${(await live!).stderr}`);
    // The live run's owner file is in the scratch TMPDIR; its server dir there or in /dev/shm (where its data fits).
    const liveRun = (await readdir(scratch)).map((n) => /^restoreproof-(\d{8}T\d{6}Z-[0-9a-f]{6})-owner\.json$/.exec(n)?.[1]).find((run) => run && run !== keptRun && run !== expiredRun)!;
    assert.ok(liveRun, 'the live run has its owner file in the scratch TMPDIR');
    assert.ok((await runDirsNamed(`restoreproof-${liveRun}-app-`)).length > 0, 'the live run has its server dir');

    try {
      // Without --older-than, a TTL of 1s in gc's environment changes nothing: each run keeps the expiry it recorded.
      const byTtl = await runCli(['gc', '--runtime', 'local', '--json'], { env: { ...env, RESTOREPROOF_CONTAINER_TTL: '1s' } });
      assert.equal(byTtl.code, 0, byTtl.stderr);
      const first = actionsOf(byTtl);
      const decided = (run: string) => [...new Set(first.filter((a) => a.run === run).map((a) => `${a.action}: ${a.reason}`))];
      assert.deepEqual(decided(expiredRun), ['removed: expired at 2020-01-02T00:00:00.000Z']);
      assert.deepEqual(decided(keptRun), ['kept: expires at 2099-01-01T00:00:00.000Z']);
      assert.deepEqual(decided(liveRun), [`kept: its harness (pid ${harnessPid}) still runs`]);

      const byAge = await runCli(['gc', '--runtime', 'local', '--older-than', '1s', '--json'], { env });
      assert.equal(byAge.code, 0, byAge.stderr);
      const second = actionsOf(byAge);
      // gc also sweeps /dev/shm, where other runs' leftovers may be: only this test's runs are judged.
      const ours = second.filter((a) => [keptRun, expiredRun, liveRun].includes(a.run));
      const removed = ours.filter((a) => a.action === 'removed');
      assert.deepEqual([...new Set(removed.map((a) => a.run))], [keptRun], JSON.stringify(ours, null, 2));
      assert.deepEqual(removed.map((a) => a.kind).sort(), ['directory', 'file', 'process']);
      assert.match(removed[0]!.reason, /started \d+s ago \(--older-than\), and its harness is gone/);
      assert.ok(second.filter((a) => a.run === liveRun).every((a) => a.action === 'kept' && a.reason === `its harness (pid ${harnessPid}) still runs`));
      assert.ok(second.some((a) => a.run === liveRun && a.kind === 'process'), 'the live run\'s server is seen, and kept');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(gone(keptServer) && gone(expiredServer), true, 'the dead runs\' processes are stopped');
      assert.ok((await processesMatching(`restoreproof-${liveRun}-`)).length > 0, 'the live run\'s server still runs');
      recordFault('gc --older-than beside a running harness', { clearError: true, leftovers: 0 });
    } finally {
      try {
        process.kill(harnessPid, 'SIGINT');
      } catch {
        // the run ended by itself (a failure above says why)
      }
    }
    const interrupted = await live!;
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.equal(JSON.parse(interrupted.stdout).teardown.status, 'completed', 'the live run tore down what gc left it');
    assert.deepEqual((await readdir(scratch)).filter((n) => n.startsWith('restoreproof-')), []);
    assert.deepEqual(await runDirsNamed(`restoreproof-${liveRun}-`), []);
  });

  it('containers: --older-than removes a dead harness\'s containers and network, keeps a live harness\'s, whatever the TTL', async function () {
    requireBackends(this, 'docker');
    const image = (testbed().backends.docker!.images as Record<string, string>).redis!;
    const [liveRun, deadRun] = ['20190101T000000Z-aaaaaa', '20190101T000000Z-dddddd'];
    const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(sleeper);
    await new Promise((r) => sleeper.once('spawn', r));
    const labels = (run: string, harness: ProcessIdentity) => ({ 'restoreproof.run': run, 'restoreproof.drill': 'gc', 'restoreproof.expires-at': '2099-01-01T00:00:00.000Z', ...harnessLabels(harness) });
    const flags = (l: Record<string, string>) => Object.entries(l).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    const liveLabels = labels(liveRun, processIdentity(sleeper.pid!));
    const deadLabels = labels(deadRun, await deadHarness());
    const liveId = dockerCli(['create', '--name', `rp-test-live-${liveRun.slice(-6)}-${process.pid}`, ...flags(liveLabels), image]);
    const deadId = dockerCli(['create', '--name', `rp-test-dead-${deadRun.slice(-6)}-${process.pid}`, ...flags(deadLabels), image]);
    planted.push(liveId, deadId);
    const deadNet = dockerCli(['network', 'create', ...flags(deadLabels), `rp-test-dead-${process.pid}`]);
    plantedNetworks.push(deadNet);

    const result = await runCli(['gc', '--runtime', 'containers', '--older-than', '2500d', '--json'], { env: { ...testbedImageEnv(), RESTOREPROOF_CONTAINER_TTL: '1s' } });
    assert.equal(result.code, 0, result.stderr);
    const actions = actionsOf(result).filter((a) => a.run === liveRun || a.run === deadRun);
    assert.deepEqual(actions.map((a) => [a.kind, a.run, a.action]).sort(), [['container', liveRun, 'kept'], ['container', deadRun, 'removed'], ['network', deadRun, 'removed']]);
    assert.equal(actions.find((a) => a.run === liveRun)!.reason, `its harness (pid ${sleeper.pid}) still runs`);
    assert.match(actions.find((a) => a.run === deadRun)!.reason, /\(--older-than\), and its harness is gone/);
    const all = dockerCli(['ps', '-aq', '--no-trunc']).split('\n');
    assert.equal(all.includes(deadId), false, 'the dead run\'s container is gone');
    assert.equal(all.includes(liveId), true, 'the live run\'s container stays');
    assert.equal(dockerCli(['network', 'ls', '-q', '--no-trunc']).split('\n').includes(deadNet), false);
    recordFault('gc --older-than beside a running harness', { clearError: true, leftovers: 0 });

    // Once its harness is gone, the same gc takes the other run too.
    sleeper.kill('SIGKILL');
    await new Promise((r) => sleeper.once('exit', r));
    const again = actionsOf(await runCli(['gc', '--runtime', 'containers', '--older-than', '2500d', '--json'], { env: testbedImageEnv() })).filter((a) => a.run === liveRun);
    assert.deepEqual(again.map((a) => a.action), ['removed']);
  });
});
