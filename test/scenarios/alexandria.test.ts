import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeAlexandriaScenario } from '../../scripts/scenarios/alexandria.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';

const drill = join(repoRoot, 'drills/examples/alexandria.yaml');
const auditKey = 'alexandria-audit-hmac-key-for-tests-0001';

describe('reference drill: alexandria (pg_dump -Fc -Z9 + MANIFEST bundle, app readiness, audit HMAC chain) and its negative twin', function () {
  let work: string;
  before(async function () {
    requireBackends(this, 'postgres', 'minio');
    useTestbedBinaries();
    process.env.ALEXANDRIA_AUDIT_KEY = auditKey; // a secret reference reads the process environment
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-alexandria-'));
  });
  after(async () => {
    delete process.env.ALEXANDRIA_AUDIT_KEY;
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('passes on a good backup: the app is ready, the license is right, the chain recomputes', async () => {
    const made = await makeAlexandriaScenario({ out: join(work, 'good'), auditKey });
    const report = await runDrill(drill, { env: { ...process.env, ALEXANDRIA_BACKUPS: made.dir }, reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    assert.equal((report.checks.find((c) => c.id === 'audit-chain')!.actual as { rowsVerified: number }).rowsVerified, made.rows);
    assert.equal(JSON.stringify(report).includes(auditKey), false);
  });

  it('twin: one tampered audit row fails the chain at that row', async () => {
    const made = await makeAlexandriaScenario({ out: join(work, 'tampered'), auditKey, damage: 'tampered-audit-row' });
    const report = await runDrill(drill, { env: { ...process.env, ALEXANDRIA_BACKUPS: made.dir }, reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.deepEqual(failed.map((c) => c.id), ['audit-chain']);
    const firstBreak = (failed[0]!.actual as { firstBreak: { key: string; kind: string } }).firstBreak;
    assert.deepEqual([firstBreak.key, firstBreak.kind], [String(made.tamperedSeq), 'changed']);
  });
});
