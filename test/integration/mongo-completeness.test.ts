import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import { runDrill } from '../../src/run/run.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { dropCollectionData } from '../support/mongo-archive-surgery.ts';

describe('mongodb: the automatic completeness check', function () {
  let backups: PlatformBackups;
  let work: string;

  before(async function () {
    requireBackends(this, 'mongo', 'postgres', 'minio', 'redis');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-completeness-'));
    backups = await makePlatformBackups(join(work, 'src'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const drill = (archive: string) =>
    ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: completeness }', 'spec:', '  stores:', '    mongo:', '      engine: mongodb',
      `      restore: [ { artefact: ${archive}, indexes: false } ]`].join('\n');

  it('passes when every collection of the archive is restored with its count', async () => {
    await writeFile(join(work, 'ok.yaml'), drill(backups.mongoArchive));
    const report = await runDrill(join(work, 'ok.yaml'), { reportDir: join(work, 'reports') });
    assertValidReport(report);
    const check = report.checks.find((c) => c.type === 'completeness')!;
    assert.equal(check.status, 'passed', check.message);
    assert.equal(report.status, 'passed');
  });

  it('fails naming the collection when its data was removed from the archive', async () => {
    const cut = join(work, 'no-findings.archive.gz');
    await dropCollectionData(backups.mongoArchive, cut, 'plexicus', 'findings');
    await writeFile(join(work, 'cut.yaml'), drill(cut));
    const report = await runDrill(join(work, 'cut.yaml'), { reportDir: join(work, 'reports') });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    const check = report.checks.find((c) => c.type === 'completeness')!;
    assert.equal(check.status, 'failed', JSON.stringify(report, null, 2));
    assert.match(check.message, /plexicus\.findings/);
  });
});
