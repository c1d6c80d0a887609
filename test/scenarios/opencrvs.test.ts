import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeOpencrvsScenario } from '../../scripts/scenarios/opencrvs.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { assertMutationPassed } from '../support/mutation.ts';

const drill = join(repoRoot, 'drills/examples/opencrvs.yaml');
const passphrase = 'correct horse battery staple 2026';

// The backups are made once (with the real tools) and restored on every runtime.
let work: string | undefined;
let backups: Promise<string> | undefined;
const made = () =>
  (backups ??= (async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-opencrvs-'));
    return (await makeOpencrvsScenario({ out: join(work, 'backups'), passphrase })).dir;
  })());

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

forEachRuntime('reference drill: opencrvs (encrypted per-datastore archives in dated folders) and its negative twin', { backends: ['postgres', 'mongo', 'minio'] }, (runtime) => {
  const pages = useReportPages();
  after(async () => {
    delete process.env.OPENCRVS_BACKUP_PASSPHRASE;
  });

  // Secret references read the process environment, as they would in CI. On the local runtime the
  // passing run is a mutation run too (restore once, then damage the restored stores and artefacts).
  const run = async (pass: string, mutants = false) => {
    const dir = await made();
    process.env.OPENCRVS_BACKUP_PASSPHRASE = pass;
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, OPENCRVS_BACKUPS: dir, OPENCRVS_MONGO_INDEXES: 'false' }, reportDir, ...(mutants ? { mutants: true } : {}) });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    return report;
  };

  it(`picks the newest dated folder, decrypts and restores every store${runtime === 'local' ? ', and its mutation score reaches the minimum' : ''}`, async () => {
    const report = await run(passphrase, runtime === 'local');
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    for (const a of report.artefacts) assert.match(String(a.selection?.chosen), /^2026-11-20\//);
    assert.equal(JSON.stringify(report).includes(passphrase), false);
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
    if (runtime !== 'local') return;
    assertMutationPassed('opencrvs', report);
  });

  it('twin: a wrong encryption key fails before any restore, naming the artefact', async () => {
    const report = await run('not the passphrase');
    assert.equal(report.exitCode, 1);
    assert.equal(report.phases.find((p) => p.name === 'fetch')!.status, 'failed');
    assert.equal(report.phases.find((p) => p.name === 'restore')!.status, 'skipped');
    assert.match(report.errors[0]!.message, /cannot decrypt .*_backup_2026-11-20\.tar\.gz\.enc/);
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });
});
