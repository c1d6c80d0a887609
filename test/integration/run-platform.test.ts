import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import { runDrill } from '../../src/run/run.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport, fixtureDrill, processesMatching } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('run: four stores together on the local runtime (PostgreSQL, MongoDB-wire server, MinIO, Redis)', function () {
  let clean: PlatformBackups;
  let damaged: PlatformBackups;
  let work: string;
  let reportDir: string;

  before(async function () {
    requireBackends(this, 'postgres', 'mongo', 'minio', 'redis');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-platform-'));
    reportDir = join(work, 'reports');
    clean = await makePlatformBackups(join(work, 'clean'));
    damaged = await makePlatformBackups(join(work, 'damaged'), { damage: true });
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function assertNothingLeft(runId: string) {
    assert.deepEqual(await runDirsNamed(`restoreproof-${runId}`), []);
    assert.deepEqual(await processesMatching(`restoreproof-${runId}`), []);
  }

  it('restores a pg_dump, a mongodump archive, a bucket mirror and an RDB together and passes every check', async () => {
    const report = await runDrill(fixtureDrill('platform.yaml'), { reportDir, env: { ...process.env, RESTOREPROOF_PLATFORM: clean.dir } });
    assertValidReport(report);
    const failed = report.checks.filter((c) => c.status !== 'passed');
    assert.equal(report.status, 'passed', JSON.stringify({ errors: report.errors, failed }, null, 2));
    assert.deepEqual(report.stores.map((s) => [s.name, s.engine, s.status]), [['mongo', 'mongodb', 'passed'], ['db', 'postgres', 'passed'], ['bucket', 's3', 'passed'], ['sessions', 'redis', 'passed']]);
    const completeness = report.checks.find((c) => c.type === 'completeness')!;
    assert.equal(completeness.status, 'passed');
    assert.match(completeness.message, /4 collections match/);
    const bucketStep = report.stores.find((s) => s.name === 'bucket')!.steps[0]!;
    assert.equal((bucketStep.details as { objects: number }).objects, 40);
    const reach = report.checks.find((c) => c.id === 'artefact-metadata-in-bucket')!;
    assert.deepEqual((reach.actual as { missing: unknown[] }).missing, []);
    assert.equal((reach.actual as { checksumsVerified: number }).checksumsVerified, 40);
    assert.equal(report.checks.find((c) => c.id === 'consistency')!.status, 'passed');
    const rdb = report.artefacts.find((a) => a.store === 'sessions')!;
    assert.match(rdb.format, /^rdb v\d+/);
    assert.equal(rdb.pointInTime!.source, 'RDB ctime aux field');
    await assertNothingLeft(report.runId);
  });

  it('reachability finds exactly the missing, orphan and mismatched objects that were planted', async () => {
    const report = await runDrill(fixtureDrill('platform.yaml'), { reportDir, env: { ...process.env, RESTOREPROOF_PLATFORM: damaged.dir } });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    const fromMongo = report.checks.find((c) => c.id === 'scan-artefacts-in-bucket')!;
    const actual = fromMongo.actual as { missing: string[]; orphans: string[]; mismatched: { key: string }[]; references: number; objects: number };
    assert.equal(fromMongo.status, 'failed');
    assert.deepEqual(actual.missing, damaged.planted.missing);
    assert.deepEqual(actual.orphans, damaged.planted.orphans);
    assert.deepEqual(actual.mismatched.map((m) => m.key), damaged.planted.mismatched);
    assert.equal(actual.references, 40);
    assert.equal(actual.objects, 40);
    const fromPg = report.checks.find((c) => c.id === 'artefact-metadata-in-bucket')!;
    const pgActual = fromPg.actual as { missing: string[]; orphans: string[]; mismatched: { key: string; reason: string }[] };
    assert.deepEqual(pgActual.missing, damaged.planted.missing);
    assert.deepEqual(pgActual.orphans, damaged.planted.orphans);
    assert.deepEqual(pgActual.mismatched.map((m) => m.key), damaged.planted.mismatched);
    assert.match(fromPg.message, /1 orphans \(scans\/99999\/report\.json\)/);
    await assertNothingLeft(report.runId);
  });
});
