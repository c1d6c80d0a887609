import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeAlexandriaScenario } from '../../scripts/scenarios/alexandria.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { assertMutationPassed } from '../support/mutation.ts';

const drill = join(repoRoot, 'drills/examples/alexandria.yaml');
const auditKey = 'alexandria-audit-hmac-key-for-tests-0001';

// The backups are made once (with the real tools) and restored on every runtime.
let work: string | undefined;
let backups: Promise<{ good: Awaited<ReturnType<typeof makeAlexandriaScenario>>; tampered: Awaited<ReturnType<typeof makeAlexandriaScenario>> }> | undefined;
const made = () =>
  (backups ??= (async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-alexandria-'));
    return {
      good: await makeAlexandriaScenario({ out: join(work, 'good'), auditKey }),
      tampered: await makeAlexandriaScenario({ out: join(work, 'tampered'), auditKey, damage: 'tampered-audit-row' }),
    };
  })());

after(async () => {
  delete process.env.ALEXANDRIA_AUDIT_KEY;
  if (work) await rm(work, { recursive: true, force: true });
});

forEachRuntime('reference drill: alexandria (pg_dump -Fc -Z9 + MANIFEST bundle, app readiness, audit HMAC chain) and its negative twin', { backends: ['postgres', 'minio'] }, (runtime) => {
  const pages = useReportPages();
  const run = async (dir: string, mutants = false) => {
    process.env.ALEXANDRIA_AUDIT_KEY = auditKey; // a secret reference reads the process environment
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, ALEXANDRIA_BACKUPS: dir }, reportDir, ...(mutants ? { mutants } : {}) });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    await pages.assertOpen(report, reportDir);
    return report;
  };

  // On the local runtime the passing run is a mutation run too: one restore serves both.
  it('passes on a good backup: the app is ready, the license is right, the chain recomputes (local: and it notices the damage)', async () => {
    const { good } = await made();
    const report = await run(good.dir, runtime === 'local');
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    assert.equal((report.checks.find((c) => c.id === 'audit-chain')!.actual as { rowsVerified: number }).rowsVerified, good.rows);
    assert.equal(JSON.stringify(report).includes(auditKey), false);
    if (runtime !== 'local') return;
    const mutation = assertMutationPassed('alexandria', report);
    // A damaged bundle file fails its MANIFEST.json before anything is restored.
    assert.deepEqual(mutation.mutants.filter((m) => m.store === 'config' && m.kind.endsWith('-artefact')).map((m) => [m.id, m.killedBy]), [['truncate:config/restore[0]', 'fetch'], ['flip-byte:config/restore[0]', 'fetch']]);
  });

  it('twin: one tampered audit row fails the chain at that row', async () => {
    const { tampered } = await made();
    const report = await run(tampered.dir);
    assert.equal(report.exitCode, 1);
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.deepEqual(failed.map((c) => c.id), ['audit-chain']);
    const firstBreak = (failed[0]!.actual as { firstBreak: { key: string; kind: string } }).firstBreak;
    assert.deepEqual([firstBreak.key, firstBreak.kind], [String(tampered.tamperedSeq), 'changed']);
  });
});
