import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePlexicusScenario } from '../../scripts/scenarios/plexicus.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { assertMutationPassed } from '../support/mutation.ts';

const drill = join(repoRoot, 'drills/examples/plexicus.yaml');

// The backups are made once (with the real tools) and restored on every runtime.
let work: string | undefined;
let backups: Promise<{ good: string; missing: string }> | undefined;
const made = () =>
  (backups ??= (async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-plexicus-'));
    const good = await makePlexicusScenario({ out: join(work, 'good') });
    const missing = await makePlexicusScenario({ out: join(work, 'missing'), damage: 'missing-object' });
    return { good: good.dir, missing: missing.dir };
  })());

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

forEachRuntime('reference drill: plexicus (MongoDB + Temporal PostgreSQL + mirrored bucket) and its negative twin', { backends: ['postgres', 'mongo', 'minio'] }, (runtime) => {
  const pages = useReportPages();

  // On the local runtime the passing run is a mutation run too (restore once, then damage the
  // restored stores and copies of the artefacts).
  const run = async (dir: string, mutants = false) => {
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, PLEXICUS_BACKUPS: dir, PLEXICUS_MONGO_INDEXES: 'false' }, reportDir, ...(mutants ? { mutants: true } : {}) });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    return report;
  };

  it(`passes on a good backup${runtime === 'local' ? ', and its mutation score reaches the minimum' : ''}`, async () => {
    const report = await run((await made()).good, runtime === 'local');
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    assert.deepEqual(report.checks.map((c) => c.id), ['completeness-mongodb-1', 'consistency', 'key-collection-counts', 'temporal-counts', 'visibility-rows', 'scan-results-in-bucket']);
    // The baselines were captured with --content: the documents and rows are compared, not only counted.
    const content = (id: string) => (report.checks.find((c) => c.id === id)!.actual as { content: unknown }).content;
    assert.deepEqual([content('key-collection-counts'), content('temporal-counts'), content('visibility-rows')], [{ compared: 3, differs: [], notCompared: [] }, { compared: 2, differs: [], notCompared: [] }, { compared: 1, differs: [], notCompared: [] }]);
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
    if (runtime !== 'local') return;
    assertMutationPassed('plexicus', report);
  });

  it('twin: a scan result missing from the bucket fails the reachability check naming the key', async () => {
    const report = await run((await made()).missing);
    assert.equal(report.exitCode, 1);
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.deepEqual(failed.map((c) => c.id), ['scan-results-in-bucket']);
    assert.match(failed[0]!.message, /1 missing \(scans\/50\/results\.sarif\.json\)/);
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });
});
