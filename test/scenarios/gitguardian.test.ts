import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGitguardianScenario } from '../../scripts/scenarios/gitguardian.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';

const drill = join(repoRoot, 'drills/examples/gitguardian.yaml');

describe('reference drill: gitguardian (pg_dumpall | gzip + Redis RDB) and its negative twin', function () {
  let work: string;
  before(async function () {
    requireBackends(this, 'postgres', 'redis');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-gitguardian-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('passes on a good backup', async () => {
    const made = await makeGitguardianScenario({ out: join(work, 'good') });
    const report = await runDrill(drill, { env: { ...process.env, GITGUARDIAN_BACKUPS: made.dir }, reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    assert.equal(report.checks.find((c) => c.id === 'keyspace')!.actual, made.counts.sessions + 1);
  });

  it('twin: a truncated pg_dumpall archive fails the restore, naming the artefact', async () => {
    const made = await makeGitguardianScenario({ out: join(work, 'truncated'), damage: 'truncated-dump' });
    const report = await runDrill(drill, { env: { ...process.env, GITGUARDIAN_BACKUPS: made.dir }, reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    const step = report.stores.find((s) => s.name === 'postgres')!.steps[0]!;
    assert.equal(step.status, 'failed');
    assert.match(step.error!, /pg_dumpall\.sql\.gz/);
    assert.deepEqual(report.checks.filter((c) => c.store === 'postgres').map((c) => c.status), ['skipped', 'skipped', 'skipped']);
    assert.equal(report.checks.find((c) => c.id === 'keyspace')!.status, 'passed');
  });
});
