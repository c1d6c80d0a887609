import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeOpencrvsScenario } from '../../scripts/scenarios/opencrvs.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';

const drill = join(repoRoot, 'drills/examples/opencrvs.yaml');
const passphrase = 'correct horse battery staple 2026';

describe('reference drill: opencrvs (encrypted per-datastore archives in dated folders) and its negative twin', function () {
  let work: string;
  let backups: string;
  before(async function () {
    requireBackends(this, 'postgres', 'mongo', 'minio');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-opencrvs-'));
    backups = (await makeOpencrvsScenario({ out: join(work, 'backups'), passphrase })).dir;
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });
  // Secret references read the process environment, as they would in CI.
  const env = (pass: string) => {
    process.env.OPENCRVS_BACKUP_PASSPHRASE = pass;
    return { ...process.env, OPENCRVS_BACKUPS: backups, OPENCRVS_MONGO_INDEXES: 'false' };
  };
  after(() => {
    delete process.env.OPENCRVS_BACKUP_PASSPHRASE;
  });

  it('picks the newest dated folder, decrypts and restores every store', async () => {
    const report = await runDrill(drill, { env: env(passphrase), reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    for (const a of report.artefacts) assert.match(String(a.selection?.chosen), /^2026-11-20\//);
    assert.equal(JSON.stringify(report).includes(passphrase), false);
  });

  it('twin: a wrong encryption key fails before any restore, naming the artefact', async () => {
    const report = await runDrill(drill, { env: env('not the passphrase'), reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    assert.equal(report.phases.find((p) => p.name === 'fetch')!.status, 'failed');
    assert.equal(report.phases.find((p) => p.name === 'restore')!.status, 'skipped');
    assert.match(report.errors[0]!.message, /cannot decrypt .*_backup_2026-11-20\.tar\.gz\.enc/);
  });
});
