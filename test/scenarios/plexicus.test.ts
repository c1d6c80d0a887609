import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePlexicusScenario } from '../../scripts/scenarios/plexicus.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';

const drill = join(repoRoot, 'drills/examples/plexicus.yaml');

describe('reference drill: plexicus (MongoDB + Temporal PostgreSQL + mirrored bucket) and its negative twin', function () {
  let work: string;
  before(async function () {
    requireBackends(this, 'postgres', 'mongo', 'minio');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-plexicus-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const env = (dir: string) => ({ ...process.env, PLEXICUS_BACKUPS: dir, PLEXICUS_MONGO_INDEXES: 'false' });

  it('passes on a good backup', async () => {
    const made = await makePlexicusScenario({ out: join(work, 'good') });
    const report = await runDrill(drill, { env: env(made.dir), reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify(report.checks.filter((c) => c.status !== 'passed'), null, 2));
    assert.deepEqual(report.checks.map((c) => c.id), ['completeness-mongodb-1', 'consistency', 'key-collection-counts', 'temporal-counts', 'visibility-rows', 'scan-results-in-bucket']);
  });

  it('twin: a scan result missing from the bucket fails the reachability check naming the key', async () => {
    const made = await makePlexicusScenario({ out: join(work, 'missing'), damage: 'missing-object' });
    const report = await runDrill(drill, { env: env(made.dir), reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.deepEqual(failed.map((c) => c.id), ['scan-results-in-bucket']);
    assert.match(failed[0]!.message, /1 missing \(scans\/50\/results\.sarif\.json\)/);
  });
});
