import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Minio from 'minio';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import { runDrill } from '../../src/run/run.ts';
import { startLocalMinio } from '../../src/engines/s3/local.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport, processesMatching } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const header = (name: string) => ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:'];

describe('engines: bad input fails clearly, still reports, and leaves nothing behind', function () {
  let backups: PlatformBackups;
  let work: string;
  let reportDir: string;

  before(async function () {
    requireBackends(this, 'mongo', 'postgres', 'minio', 'redis');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-badinput-'));
    reportDir = join(work, 'reports');
    backups = await makePlatformBackups(join(work, 'src'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function run(name: string, lines: string[]) {
    const file = join(work, `${name}.yaml`);
    await writeFile(file, [...header(name), ...lines].join('\n'));
    const report = await runDrill(file, { reportDir });
    assertValidReport(report);
    assert.ok(report.reports.json);
    assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), []);
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), []);
    return report;
  }

  it('a file that is not a mongodump archive', async () => {
    const report = await run('wrong-format', ['  stores:', '    m:', '      engine: mongodb', `      restore: [ { artefact: ${backups.postgresDump} } ]`]);
    assert.equal(report.exitCode, 1);
    assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
    assert.match(report.errors[0]!.message, /is not a mongodump archive \(magic 5047444d at offset 0\)/);
  });

  it('a bucket mirror with a symlink escaping its root', async () => {
    const mirror = join(work, 'escaping-mirror');
    await mkdir(join(mirror, 'a'), { recursive: true });
    await writeFile(join(mirror, 'a', 'ok.txt'), 'fine');
    await symlink('/etc/passwd', join(mirror, 'a', 'passwd'));
    const report = await run('escape', ['  stores:', '    b:', '      engine: s3', `      restore: [ { artefact: ${mirror}, bucket: files } ]`]);
    assert.equal(report.exitCode, 1);
    assert.match(report.errors[0]!.message, /a\/passwd is a symlink that escapes the artefact directory/);
    assert.equal(report.phases.find((p) => p.name === 'provision')!.status, 'skipped');
  });

  it('an RDB from a newer Redis', async () => {
    const rdb = await readFile(backups.redisRdb);
    rdb.write('0099', 5, 'latin1'); // REDIS0099: a format version no released Redis reads
    const newer = join(work, 'newer.rdb');
    await writeFile(newer, rdb);
    const report = await run('newer-rdb', ['  stores:', '    r:', '      engine: redis', `      restore: [ { artefact: ${newer} } ]`]);
    assert.equal(report.exitCode, 1);
    assert.match(report.artefacts[0]!.format, /^rdb v99 \(redis /);
    assert.match(report.errors[0]!.message, /redis-server exited during start-up/);
    assert.match(report.errors[0]!.message, /RDB format version 99/);
  });

  it('a reference column that does not exist', async () => {
    const report = await run('no-column', [
      '  stores:',
      '    db:', '      engine: postgres', `      restore: [ { artefact: ${backups.postgresDump}, database: platform } ]`,
      '    bucket:', '      engine: s3', `      restore: [ { artefact: ${backups.bucketMirror}, bucket: artefacts } ]`,
      '  checks:',
      '    - { id: reach, type: reachability, references: { store: db, sql: "select path from artefacts" }, objects: { store: bucket } }',
    ]);
    assert.equal(report.exitCode, 1);
    const check = report.checks.find((c) => c.id === 'reach')!;
    assert.equal(check.status, 'failed');
    assert.match(check.message, /column refs\.key does not exist/);
  });

  it('artefacts from different points in time fail the consistency window', async () => {
    const old = join(work, 'old-mirror');
    await mkdir(old);
    await copyFile(join(backups.bucketMirror, 'scans/00001/report.json'), join(old, 'report.json'));
    await utimes(join(old, 'report.json'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    const report = await run('drift', [
      '  consistency: { window: 1h }',
      '  stores:',
      '    db:', '      engine: postgres', `      restore: [ { artefact: ${backups.postgresDump}, database: platform } ]`,
      '    bucket:', '      engine: s3', `      restore: [ { artefact: ${old}, bucket: artefacts } ]`,
    ]);
    assert.equal(report.exitCode, 1);
    const check = report.checks.find((c) => c.id === 'consistency')!;
    assert.equal(check.status, 'failed');
    assert.match(check.message, /oldest .*old-mirror at 2026-01-01T00:00:00\.000Z/);
  });

  describe('a bucket restored from a prefix of a source bucket', () => {
    let source: StartedStore;
    before(async () => {
      source = await startLocalMinio({ runId: 'srcbucket', drillName: 't', storeName: 'src', spec: { engine: 's3', restore: [] }, drillDir: work, signal: new AbortController().signal });
      const client = new Minio.Client({ endPoint: '127.0.0.1', port: source.endpoint.port, useSSL: false, accessKey: source.endpoint.user, secretKey: source.endpoint.password });
      await client.makeBucket('prod', 'us-east-1');
      for (let i = 0; i < 5; i++) await client.putObject('prod', `2026-11-20/obj${i}`, Buffer.from(`object ${i}`));
      await client.putObject('prod', '2026-11-19/old', Buffer.from('older'));
    });
    after(async () => {
      await source?.stop();
    });
    const drill = (name: string) => [
      '  stores:', '    b:', '      engine: s3',
      `      restore: [ { bucket: copy, prefix: 2026-11-20/, source: { endpoint: "http://127.0.0.1:${source.endpoint.port}", bucket: prod, accessKey: { env: SRC_KEY }, secretKey: { env: SRC_SECRET } } } ]`,
      '  checks:', `    - { id: ${name}, type: objects, store: b, expect: { count: { equals: 5 } } }`,
    ];

    it('copies only the prefix, with credentials from the environment', async () => {
      process.env.SRC_KEY = source.endpoint.user;
      process.env.SRC_SECRET = source.endpoint.password;
      const report = await run('from-bucket', drill('copied'));
      assert.equal(report.status, 'passed', JSON.stringify(report.errors));
      assert.equal((report.stores[0]!.steps[0]!.details as { objects: number }).objects, 5);
      assert.equal(JSON.stringify(report).includes(source.endpoint.password), false);
    });

    it('credentials that fail: the preflight finds them refused before anything starts, the drill could not run (exit 3)', async () => {
      process.env.SRC_KEY = source.endpoint.user;
      process.env.SRC_SECRET = 'wrong-secret-value-123';
      const report = await run('bad-creds', drill('copied'));
      assert.deepEqual([report.status, report.exitCode], ['could-not-run', 3]);
      const error = report.errors.find((e) => e.code === 'E_SOURCE_UNREACHABLE');
      assert.ok(error, JSON.stringify(report.errors));
      assert.match(error.message, /^source b: s3:\/\/prod\/2026-11-20\/ at http:\/\/127\.0\.0\.1:\d+: .*(signature|Access Denied|credentials|does not match)/i);
      assert.deepEqual(report.stores[0]!.steps, [], 'nothing was restored');
      assert.equal(JSON.stringify(report).includes('wrong-secret-value-123'), false);
    });
  });
});
