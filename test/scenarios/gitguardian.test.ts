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

  const run = async (dir: string) => {
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, GITGUARDIAN_BACKUPS: dir }, reportDir });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    return report;
  };

  it('passes on a good backup', async () => {
    const { good } = await made();
    const report = await run(good.dir);
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    assert.equal(report.checks.find((c) => c.id === 'keyspace')!.actual, good.counts.sessions + 1);
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });

  it('twin: a truncated pg_dumpall archive fails the restore, naming the artefact', async () => {
    const report = await run((await made()).truncated);
    assert.equal(report.exitCode, 1);
    const step = report.stores.find((s) => s.name === 'postgres')!.steps[0]!;
    assert.equal(step.status, 'failed');
    assert.match(step.error!, /pg_dumpall\.sql\.gz/);
    assert.deepEqual(report.checks.filter((c) => c.store === 'postgres').map((c) => c.status), ['skipped', 'skipped', 'skipped']);
    assert.equal(report.checks.find((c) => c.id === 'keyspace')!.status, 'passed');
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });
});
