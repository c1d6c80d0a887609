import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGocdnextScenario } from '../../scripts/scenarios/gocdnext.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';

const drill = join(repoRoot, 'drills/examples/gocdnext.yaml');
const secretKey = randomBytes(32);

describe('reference drill: gocdnext (pg_dump -F c + artefact bucket with SHA-256 metadata in PostgreSQL, encrypted secrets) and its negative twin', function () {
  let work: string;
  before(async function () {
    requireBackends(this, 'postgres', 'minio');
    useTestbedBinaries();
    process.env.GOCDNEXT_SECRET_KEY = secretKey.toString('base64'); // kept outside the backup, as in production
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-gocdnext-'));
  });
  after(async () => {
    delete process.env.GOCDNEXT_SECRET_KEY;
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('passes on a good backup and reports the orphan', async () => {
    const made = await makeGocdnextScenario({ out: join(work, 'good'), secretKey });
    const report = await runDrill(drill, { env: { ...process.env, GOCDNEXT_BACKUPS: made.dir }, reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.status, 'warned', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    assert.equal(report.exitCode, 0);
    const reach = report.checks.find((c) => c.id === 'artefacts-in-bucket')!;
    assert.equal(reach.status, 'warned');
    assert.deepEqual((reach.actual as { orphans: string[] }).orphans, ['runs/orphaned/leftover.bin']);
    assert.equal((reach.actual as { checksumsVerified: number }).checksumsVerified, made.artefacts);
    assert.equal(report.checks.filter((c) => c.status === 'failed').length, 0);
    assert.equal(JSON.stringify(report).includes(secretKey.toString('base64')), false);
  });

  it('twin: an artefact whose bytes no longer match the SHA-256 in PostgreSQL fails, naming it', async () => {
    const made = await makeGocdnextScenario({ out: join(work, 'altered'), secretKey, damage: 'altered-artefact' });
    const report = await runDrill(drill, { env: { ...process.env, GOCDNEXT_BACKUPS: made.dir }, reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.deepEqual(failed.map((c) => c.id), ['artefacts-in-bucket']);
    assert.deepEqual((failed[0]!.actual as { mismatched: { key: string }[] }).mismatched.map((m) => m.key), [made.altered]);
  });
});
