import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGitguardianScenario } from '../../scripts/scenarios/gitguardian.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { assertMutationPassed } from '../support/mutation.ts';

const drill = join(repoRoot, 'drills/examples/gitguardian.yaml');

// The backups are made once (with the real tools) and restored on every runtime.
let work: string | undefined;
let backups: Promise<{ good: Awaited<ReturnType<typeof makeGitguardianScenario>>; truncated: string }> | undefined;
const made = () =>
  (backups ??= (async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-gitguardian-'));
    const good = await makeGitguardianScenario({ out: join(work, 'good') });
    const truncated = await makeGitguardianScenario({ out: join(work, 'truncated'), damage: 'truncated-dump' });
    return { good, truncated: truncated.dir };
  })());

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

forEachRuntime('reference drill: gitguardian (pg_dumpall | gzip + Redis RDB) and its negative twin', { backends: ['postgres', 'redis'] }, (runtime) => {
  const pages = useReportPages();

  const run = async (dir: string, mutants = false) => {
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, GITGUARDIAN_BACKUPS: dir }, reportDir, mutants });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    return report;
  };

  // On the local runtime the passing run is also the mutation run: the same restore is then damaged
  // one mutant at a time, so the drill is shown to fail on what its runbook would call a bad restore.
  it(runtime === 'local' ? 'passes on a good backup and notices every mutant' : 'passes on a good backup', async () => {
    const { good } = await made();
    const report = await run(good.dir, runtime === 'local');
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed'), report.mutation?.mutants.filter((m) => m.status !== 'killed')], null, 2));
    assert.equal(report.checks.find((c) => c.id === 'keyspace')!.actual, good.counts.sessions + 1);
    assert.equal(report.checks.find((c) => c.id === 'sessions')!.actual, good.counts.sessions);
    assert.equal(report.checks.find((c) => c.id === 'table-contents')!.status, 'passed');
    if (runtime === 'local') {
      assertMutationPassed('gitguardian', report);
    }
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });

  it('twin: a truncated pg_dumpall archive fails the restore, naming the artefact', async () => {
    const report = await run((await made()).truncated);
    assert.equal(report.exitCode, 1);
    const step = report.stores.find((s) => s.name === 'postgres')!.steps[0]!;
    assert.equal(step.status, 'failed');
    assert.match(step.error!, /pg_dumpall\.sql\.gz/);
    assert.deepEqual(report.checks.filter((c) => c.store === 'postgres').map((c) => c.status), ['skipped', 'skipped', 'skipped', 'skipped']);
    assert.equal(report.checks.find((c) => c.id === 'keyspace')!.status, 'passed');
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });
});
