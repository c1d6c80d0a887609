// Issue 14, deliverable 4: a harness SIGKILLed in the middle of a restore leaves nothing behind,
// with no gc: the run's reaper (a detached process holding a pipe from the harness) sees the pipe
// close and removes the run's server processes, temp dirs, containers and networks, then exits.
// 5 kills on the local runtime and 5 on containers, each at a slightly different point of the restore.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBackends, testbedImageEnv, useTestbedBinaries } from '../support/backends.ts';
import { labelledWith, removeDockerObjects } from '../support/docker-cli.ts';
import { recordFault } from '../support/faults.ts';
import { demoBackups, fixtureDrill, processesMatching, runCli } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

/** Everything of the run still there: its processes (the reaper included), temp dirs, and on containers its labelled containers, networks and volumes. */
async function leftoversOf(runId: string, runtime: 'local' | 'containers'): Promise<string[]> {
  const found = [
    ...(await processesMatching(`restoreproof-${runId}-`)).map((p) => `process ${p}`),
    ...(await processesMatching(`process.ts ${runId}`)).map((p) => `reaper ${p}`),
    ...(await runDirsNamed(`restoreproof-${runId}-`)).map((d) => `temp ${d}`),
  ];
  if (runtime === 'containers') {
    const { containers, networks, volumes } = labelledWith(runId);
    found.push(...containers.map((id) => `container ${id}`), ...networks.map((id) => `network ${id}`), ...volumes.map((id) => `volume ${id}`));
  }
  return found;
}

/** Polls for up to 60s (generous, not a timed assertion: only what is still there after it fails). */
async function leftoversAfterAMinute(runId: string, runtime: 'local' | 'containers'): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  let left = await leftoversOf(runId, runtime);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    left = await leftoversOf(runId, runtime);
  }
  return left;
}

/** Whatever a failed test left, so the next suites start clean. */
async function removeByHand(runId: string): Promise<void> {
  for (const p of [...(await processesMatching(`restoreproof-${runId}-`)), ...(await processesMatching(`process.ts ${runId}`))]) {
    try {
      process.kill(Number(p.split(' ')[0]), 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const d of await runDirsNamed(`restoreproof-${runId}-`)) await rm(d, { recursive: true, force: true });
  try {
    removeDockerObjects(labelledWith(runId));
  } catch {
    // no engine (the local runtime's cases)
  }
}

describe('faults: SIGKILL of the harness mid-restore, no gc', function () {
  let fixtures: string;
  let reports: string;
  const runIds: string[] = [];

  before(async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    fixtures = (await demoBackups()).dir;
    reports = await mkdtemp(join(tmpdir(), 'restoreproof-test-sigkill-'));
  });
  after(async () => {
    for (const id of runIds) await removeByHand(id);
    if (reports) await rm(reports, { recursive: true, force: true });
  });

  for (const runtime of ['local', 'containers'] as const) {
    // The kill lands this long after psql started the restore (slow.sql blocks in pg_sleep).
    for (const delayMs of [0, 200, 400, 700, 1000]) {
      it(`${runtime}: SIGKILL ${delayMs}ms into the restore leaves no process, temp dir${runtime === 'containers' ? ', container or network' : ''} within a minute`, async function () {
        if (runtime === 'containers') requireBackends(this, 'docker', 'postgres');
        let killed = false;
        const result = await runCli(['run', fixtureDrill('slow.yaml'), '--runtime', runtime, '--report-dir', reports], {
          env: { ...(runtime === 'containers' ? testbedImageEnv() : {}), RESTOREPROOF_FIXTURES: fixtures, RESTOREPROOF_HISTORY: '' },
          killAfterMs: 300_000,
          onStderr: (text, child) => {
            if (killed || !/restore app: psql/.test(text)) return;
            killed = true;
            setTimeout(() => child.kill('SIGKILL'), delayMs);
          },
        });
        const runId = /restoreproof run (\S+):/.exec(result.stderr)?.[1] ?? assert.fail(`no run id in:\n${result.stderr}`);
        runIds.push(runId);
        assert.equal(killed, true, `the restore never started:\n${result.stderr}`);
        assert.equal(result.signal, 'SIGKILL', result.stderr);
        const left = await leftoversAfterAMinute(runId, runtime);
        recordFault(`SIGKILL of the harness mid-restore (${runtime})`, { clearError: left.length === 0, leftovers: left.length });
        assert.deepEqual(left, []);
      });
    }
  }
});
