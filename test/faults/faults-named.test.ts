// Issue 14, deliverable 6: faults named correctly, through the real CLI (the harness in its own
// process, so a store's death races the engine's bookkeeping as it does for a user).
// - `docker kill` of a store container during a restore: E_CONTAINER_DIED, 10 times out of 10;
// - SIGKILL of a local postgres server during a restore: E_STORE_DIED;
// - SIGINT during provision, a restore, and a long query check: E_INTERRUPTED and exit 130, the
//   check's query cancelled (a run that waits for `pg_sleep(600)` fails as hung).
// No timing is asserted: a CLI still running after `hungAfterMs` is killed and fails as hung.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunReport } from '../../src/report/types.ts';
import { requireBackends, testbedImageEnv, useTestbedBinaries, useTestbedImages } from '../support/backends.ts';
import { containerProcesses, docker, leftovers } from '../support/docker.ts';
import { clearErrorProblems, recordFault } from '../support/faults.ts';
import { assertValidReport, demoBackups, fixtureDrill, processesMatching, runCli, type CliResult } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

/** Generous: a CLI still running after this is killed and fails as hung. */
const hungAfterMs = 120_000;
const dockerKills = 10;

type Runtime = 'local' | 'containers';

/** What the run's store server is doing: process titles (a backend shows its database and statement). */
async function storeProcesses(runtime: Runtime, runId: string): Promise<string> {
  if (runtime === 'containers') return containerProcesses(`restoreproof-${runId}-app`);
  return (await processesMatching(`restoreproof-${runId}-app`)).join('\n');
}

/** What the run left behind: containers and networks, or server processes and temp dirs. */
async function leftoverCount(runtime: Runtime, runId: string): Promise<number> {
  if (runtime === 'containers') {
    const left = leftovers(runId);
    return [left.containers, left.networks].join('\n').split('\n').filter(Boolean).length;
  }
  // Backends of a killed postmaster exit on their own once they notice; wait for that, bounded.
  for (let i = 0; i < 100 && (await processesMatching(`restoreproof-${runId}`)).length; i++) await new Promise((r) => setTimeout(r, 100));
  const dirs = await runDirsNamed(`restoreproof-${runId}`);
  return dirs.length + (await processesMatching(`restoreproof-${runId}`)).length;
}

interface Injection {
  runtime: Runtime;
  drill: string;
  /** The stderr line after which to start watching the store (e.g. the restore step starting). */
  after: RegExp;
  /** The store's process titles that say the moment has come (e.g. a backend running a SELECT in database slow). */
  when: RegExp;
  inject: (context: { child: ChildProcess; runId: string; processes: string }) => void;
}

interface Outcome {
  result: CliResult;
  runId: string;
  injected: boolean;
  report: RunReport;
}

/** Runs the drill through the CLI and injects the fault once the store's processes match `when`. */
async function runAndInject(injection: Injection, env: Record<string, string>, reportDir: string): Promise<Outcome> {
  let runId = '';
  let injected = false;
  let watching = false;
  let poll: NodeJS.Timeout | undefined;
  const result = await runCli(['run', injection.drill, '--runtime', injection.runtime, '--report-dir', reportDir, '--json'], {
    env,
    killAfterMs: hungAfterMs,
    onStderr: (text, child) => {
      runId ||= /restoreproof run (\S+):/.exec(text)?.[1] ?? '';
      if (watching || !runId || !injection.after.test(text)) return;
      watching = true;
      let busy = false;
      poll = setInterval(async () => {
        if (busy || injected) return;
        busy = true;
        try {
          const processes = await storeProcesses(injection.runtime, runId);
          if (!injection.when.test(processes)) return;
          clearInterval(poll);
          injected = true;
          injection.inject({ child, runId, processes });
        } finally {
          busy = false;
        }
      }, 100);
    },
  });
  clearInterval(poll);
  assert.ok(runId, result.stderr);
  const report = JSON.parse(result.stdout) as RunReport;
  assertValidReport(report);
  return { result, runId, injected, report };
}

const sigint = ({ child }: { child: ChildProcess }) => child.kill('SIGINT');
const codes = (report: RunReport) => [...new Set(report.errors.map((e) => e.code))].sort();

describe('faults: named correctly', function () {
  this.timeout(hungAfterMs + 60_000);
  let work: string;
  let reportDir: string;
  let fixtures: string;

  before(async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    fixtures = (await demoBackups()).dir;
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-faultnames-'));
    reportDir = join(work, 'reports');
    // A query check that would run for ten minutes unless the interruption cancels it.
    await writeFile(join(work, 'long-check.yaml'), [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: long-check }', 'spec:', '  stores:', '    app:', '      engine: postgres',
      `      restore:`, `        - { artefact: ${fixtures}/shop.dump, database: shop }`,
      '  checks:', '    - { id: sleeps, type: query, store: app, database: shop, sql: "select pg_sleep(600)", expect: { notNull: true } }', '',
    ].join('\n'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** psql of the slow fixture is in `select pg_sleep(600)` in database slow. */
  const restoring = / slow .*SELECT/;
  /** The long check's backend is in its SELECT in database shop. */
  const checking = / shop .*SELECT/;

  async function assertInterrupted(runtime: Runtime, outcome: Outcome, fault: string): Promise<void> {
    const left = await leftoverCount(runtime, outcome.runId);
    const problems = clearErrorProblems(outcome.result, { exitCodes: [130], located: /error E_INTERRUPTED: .*interrupted by SIGINT/ });
    if (codes(outcome.report).join() !== 'E_INTERRUPTED') problems.push(`error codes ${codes(outcome.report).join(', ')}, expected only E_INTERRUPTED`);
    recordFault(fault, { clearError: outcome.injected && problems.length === 0, leftovers: left });
    assert.ok(outcome.injected, outcome.result.stderr);
    assert.deepEqual(problems, []);
    assert.equal(outcome.report.status, 'aborted');
    assert.equal(outcome.report.exitCode, 130);
    // Interrupted while the store started, the store removes itself: the run has nothing left to tear down.
    assert.match(outcome.report.teardown.status, /^(completed|nothing-to-do)$/);
    assert.equal(left, 0);
  }

  for (const runtime of ['local', 'containers'] as const) {
    describe(`[${runtime}]`, function () {
      let env: Record<string, string>;
      let restoreImages: (() => void) | undefined;
      before(function () {
        if (runtime === 'containers') {
          requireBackends(this, 'docker');
          restoreImages = useTestbedImages();
        }
        env = { ...(runtime === 'containers' ? testbedImageEnv() : {}), RESTOREPROOF_FIXTURES: fixtures };
      });
      after(() => restoreImages?.());

      it('SIGINT while psql restores records E_INTERRUPTED on the step and in the errors, exit 130', async () => {
        const outcome = await runAndInject({ runtime, drill: fixtureDrill('slow.yaml'), after: /restore app: psql/, when: restoring, inject: sigint }, env, reportDir);
        await assertInterrupted(runtime, outcome, 'SIGINT during a restore');
        const step = outcome.report.stores[0]!.steps[0]!;
        assert.equal(step.errorCode, 'E_INTERRUPTED');
        assert.match(step.error ?? '', /interrupted by SIGINT during psql/);
      });

      it('SIGINT while a query check runs cancels the query: E_INTERRUPTED, exit 130, the check recorded as interrupted', async () => {
        const outcome = await runAndInject({ runtime, drill: join(work, 'long-check.yaml'), after: /checks …/, when: checking, inject: sigint }, env, reportDir);
        await assertInterrupted(runtime, outcome, 'SIGINT during a check');
        const check = outcome.report.checks.find((c) => c.id === 'sleeps')!;
        assert.equal(check.status, 'skipped');
        assert.match(check.message, /interrupted by SIGINT while it ran/);
      });
    });
  }

  it('[local] SIGINT while the store is provisioned records E_INTERRUPTED, not E_PROVISION', async () => {
    const outcome = await runAndInject({ runtime: 'local', drill: fixtureDrill('slow.yaml'), after: /provision/, when: /initdb|postgres -D/, inject: sigint }, { RESTOREPROOF_FIXTURES: fixtures }, reportDir);
    await assertInterrupted('local', outcome, 'SIGINT during provision');
  });

  it('[local] a postgres server killed during a restore is E_STORE_DIED', async () => {
    const outcome = await runAndInject({
      runtime: 'local', drill: fixtureDrill('slow.yaml'), after: /restore app: psql/, when: restoring,
      inject: ({ processes }) => {
        const postmaster = processes.split('\n').find((p) => / -D \S+\/data /.test(p));
        assert.ok(postmaster, processes);
        process.kill(Number(postmaster.split(' ')[0]), 'SIGKILL');
      },
    }, { RESTOREPROOF_FIXTURES: fixtures }, reportDir);
    const left = await leftoverCount('local', outcome.runId);
    const step = outcome.report.stores[0]!.steps[0]!;
    const problems = clearErrorProblems(outcome.result, { exitCodes: [1], located: /error E_STORE_DIED: store app: the postgres server \(pid \d+\) of store app stopped while psql ran \(killed by SIGKILL\)/ });
    if (step.errorCode !== 'E_STORE_DIED') problems.push(`step errorCode ${step.errorCode}: ${step.error}`);
    recordFault('local server killed during a restore', { clearError: outcome.injected && problems.length === 0, leftovers: left });
    assert.ok(outcome.injected, outcome.result.stderr);
    assert.deepEqual(problems, []);
    assert.deepEqual(codes(outcome.report), ['E_STORE_DIED']);
    assert.equal(outcome.report.teardown.status, 'completed');
    assert.equal(left, 0);
  });

  describe('[containers] docker kill of the store during a restore', function () {
    let restoreImages: (() => void) | undefined;
    before(function () {
      requireBackends(this, 'docker');
      restoreImages = useTestbedImages();
    });
    after(() => restoreImages?.());

    for (let i = 1; i <= dockerKills; i++) {
      it(`kill ${i} of ${dockerKills} is E_CONTAINER_DIED`, async () => {
        const outcome = await runAndInject({
          runtime: 'containers', drill: fixtureDrill('slow.yaml'), after: /restore app: psql/, when: restoring,
          inject: ({ runId }) => docker(['kill', `restoreproof-${runId}-app`]),
        }, { ...testbedImageEnv(), RESTOREPROOF_FIXTURES: fixtures }, reportDir);
        const left = await leftoverCount('containers', outcome.runId);
        const step = outcome.report.stores[0]!.steps[0]!;
        const problems = clearErrorProblems(outcome.result, { exitCodes: [1], located: /error E_CONTAINER_DIED: store app: container [0-9a-f]{12} of store app \(.*\) stopped while psql ran \(exited, exit code 137\)/ });
        if (step.errorCode !== 'E_CONTAINER_DIED') problems.push(`step errorCode ${step.errorCode}: ${step.error}`);
        recordFault('docker kill of a store during a restore', { clearError: outcome.injected && problems.length === 0, leftovers: left });
        assert.ok(outcome.injected, outcome.result.stderr);
        assert.deepEqual(problems, []);
        assert.deepEqual(codes(outcome.report), ['E_CONTAINER_DIED']);
        assert.match(step.error ?? '', /its last log lines:\n.*\S/s);
        assert.equal(outcome.report.teardown.status, 'completed');
        assert.equal(left, 0);
      });
    }
  });
});
