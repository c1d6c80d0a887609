import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeNextcloudScenario } from '../../scripts/scenarios/nextcloud.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { assertMutationPassed } from '../support/mutation.ts';

const drill = join(repoRoot, 'drills/examples/nextcloud.yaml');

// The backups are made once (with the real tools) and restored on every runtime.
let work: string | undefined;
let backups: Promise<{ good: Awaited<ReturnType<typeof makeNextcloudScenario>>; missing: Awaited<ReturnType<typeof makeNextcloudScenario>> }> | undefined;
const made = () =>
  (backups ??= (async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-nextcloud-'));
    return {
      good: await makeNextcloudScenario({ out: join(work, 'good') }),
      missing: await makeNextcloudScenario({ out: join(work, 'missing'), damage: 'filecache-rows-missing' }),
    };
  })());

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

forEachRuntime('reference drill: nextcloud (mariadb-dump --single-transaction + S3 primary storage bucket mirror) and its negative twin', { backends: ['mariadb', 'minio'] }, (runtime) => {
  const pages = useReportPages();
  // After forEachRuntime's hook (which requires the backends): making both backups starts two
  // servers each, which on a loaded machine is slower than a test's default timeout allows.
  before(async function () {
    this.timeout(600_000);
    await made();
  });
  const run = async (dir: string, mutants = false) => {
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, NEXTCLOUD_BACKUPS: dir }, reportDir, ...(mutants ? { mutants } : {}) });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    await pages.assertOpen(report, reportDir);
    return report;
  };

  // On the local runtime the passing run is a mutation run too: one restore serves both.
  it('passes on a good backup: every table as counted at backup time, the same schema, every file in the bucket with its checksum (local: and it notices the damage)', async () => {
    const { good } = await made();
    const report = await run(good.dir, runtime === 'local');
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['table-counts', 'passed'], ['schema', 'passed'], ['files-in-bucket', 'passed'], ['shares-resolve', 'passed'], ['users', 'passed']]);
    const reach = report.checks.find((c) => c.id === 'files-in-bucket')!.actual as { references: number; matched: number; checksumsVerified: number; orphans: string[] };
    assert.deepEqual([reach.references, reach.matched, reach.checksumsVerified, reach.orphans], [good.counts.files, good.counts.files, good.counts.files, []]);
    // The baseline was captured with --content: every table's rows are compared, not only counted.
    assert.deepEqual(report.checks.find((c) => c.id === 'table-counts')!.actual, { compared: 7, mismatched: [], missing: [], extra: [], content: { compared: 7, differs: [], notCompared: [] } });
    assert.equal(report.checks.find((c) => c.id === 'users')!.actual, good.counts.users);
    const objects = report.stores.find((s) => s.name === 'objectstore')!.steps[0]!;
    assert.equal((objects.details as { objects: number }).objects, good.counts.files);
    if (runtime !== 'local') return;
    assertMutationPassed('nextcloud', report);
  });

  it("twin: oc_filecache's rows left out of the dump fail the baseline, naming the table", async () => {
    const { missing } = await made();
    const report = await run(missing.dir);
    assert.equal(report.exitCode, 1);
    assert.equal(report.stores.find((s) => s.name === 'db')!.steps[0]!.status, 'passed');
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.deepEqual(failed.map((c) => c.id), ['table-counts', 'shares-resolve']);
    assert.equal(failed[0]!.message, `oc_filecache: 0 restored, expected ${missing.counts.filecache}`);
    // The other tables' rows are compared and equal; the emptied one is reported by its count alone.
    assert.deepEqual((failed[0]!.actual as { content: unknown }).content, { compared: 6, differs: [], notCompared: ['oc_filecache'] });
    assert.equal(failed[1]!.actual, String(missing.counts.shares));
    // The table itself came back (so the schema matches); nothing references the objects any more.
    assert.equal(report.checks.find((c) => c.id === 'schema')!.status, 'passed');
    const reach = report.checks.find((c) => c.id === 'files-in-bucket')!;
    assert.equal(reach.status, 'warned');
    assert.deepEqual([(reach.actual as { references: number }).references, (reach.actual as { objects: number }).objects], [0, missing.counts.files]);
  });
});
