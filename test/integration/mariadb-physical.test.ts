import assert from 'node:assert/strict';
import { cp, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { RunReport } from '../../src/report/types.ts';
import { requireBackends, testbedImageEnv, useTestbedBinaries } from '../support/backends.ts';
import { labelledWith } from '../support/docker-cli.ts';
import { assertValidReport, processesMatching, runCli } from '../support/fixtures.ts';
import { makeMariadbPitrFixture, treeDigest, type MariadbPitrFixture } from '../support/mariadb-source.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

/** Physical backups and binlogs of a real source server (test/support/mariadb-source.ts), restored through the real CLI. */
describe('mariadb: mariadb-backup physical restores and binlog point-in-time recovery', function () {
  let work: string;
  let target: string;
  let source: MariadbPitrFixture;

  before(async function () {
    requireBackends(this, 'mariadb');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-mariadb-physical-'));
    source = await makeMariadbPitrFixture(work);
    target = source.target;
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const drill = async (name: string, runtime: string, step: string, checks: string[]) => {
    const file = join(work, `${name}-${runtime}.yaml`);
    await writeFile(file, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:', `  runtime: ${runtime}`,
      '  stores:', '    db:', '      engine: mariadb', '      restore:', `        - ${step}`, '  checks:', ...checks.map((c) => `    - ${c}`),
    ].join('\n'));
    return file;
  };
  /** The real CLI, then: the report is valid and written, and nothing of the run is left (no server, temp dir or container). */
  const cli = async (file: string, runtime: string): Promise<{ code: number | null; report: RunReport; stderr: string }> => {
    const result = await runCli(['run', file, '--report-dir', join(work, 'reports'), '--json'], { env: runtime === 'containers' ? testbedImageEnv() : {} });
    const report = JSON.parse(result.stdout) as RunReport;
    assertValidReport(report);
    assert.ok((await readdir(join(work, 'reports'))).includes(`${report.runId}.json`), 'the JSON report is written');
    assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), [], 'no server dir is left');
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), [], 'no server is left running');
    if (runtime === 'containers') assert.deepEqual(labelledWith(report.runId), { containers: [], networks: [], volumes: [] }, 'no container is left');
    return { code: result.code, report, stderr: result.stderr };
  };
  const rows = (expected: number) => `{ id: rows, type: count, store: db, table: shop.items, expect: { equals: ${expected} } }`;
  const row = (id: number, expected: number) => `{ id: row-${id}, type: count, store: db, table: shop.items, where: "id = ${id}", expect: { equals: ${expected} } }`;

  for (const runtime of ['local', 'containers'] as const) {
    describe(`runtime ${runtime}`, function () {
      before(function () {
        if (runtime === 'containers') requireBackends(this, 'docker');
      });

      it('a mariadb-backup directory alone restores the rows of the backup, the harness still logs in, and the source is unchanged', async () => {
        const before = await treeDigest(source.directory);
        const { code, report } = await cli(await drill('physical-dir', runtime, `{ artefact: ${JSON.stringify(source.directory)} }`, [rows(2)]), runtime);
        assert.equal(code, 0, JSON.stringify(report.errors));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['rows', 'passed', 2]]);
        assert.equal(report.stores[0]!.steps[0]!.format, 'mariadb-backup directory');
        assert.equal(await treeDigest(source.directory), before, 'the backup directory was not written to (--prepare ran on a copy)');
      });

      it('an xbstream plus binlogs to a target: rows before the target are present, rows after it absent', async () => {
        const step = `{ artefact: ${JSON.stringify(source.xbstream)}, binlogs: [${JSON.stringify(source.binlogs)}], target: "${target}" }`;
        const { code, report } = await cli(await drill('pitr-xbstream', runtime, step, [rows(3), row(3, 1), row(4, 0), row(5, 0)]), runtime);
        assert.equal(code, 0, JSON.stringify([report.errors, report.checks]));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['rows', 'passed', 3], ['row-3', 'passed', 1], ['row-4', 'passed', 0], ['row-5', 'passed', 0]]);
        const details = report.stores[0]!.steps[0]!.details!;
        assert.equal(details.target, target);
        assert.deepEqual(report.artefacts[0]!.pointInTime, { at: target, source: 'the point-in-time recovery target' });
        assert.match(String(details.replayedFrom), /^binlog\.000001:\d+ \(xtrabackup_binlog_info\)$/);
      });

      it('a dump made with --master-data plus binlogs to a target replays from the dump\'s coordinates', async () => {
        const step = `{ artefact: ${JSON.stringify(source.dump)}, binlogs: [${JSON.stringify(join(source.binlogs, 'binlog.000001'))}, ${JSON.stringify(join(source.binlogs, 'binlog.000002'))}], target: "${target}" }`;
        const { code, report } = await cli(await drill('pitr-dump', runtime, step, [rows(3), row(4, 0)]), runtime);
        assert.equal(code, 0, JSON.stringify([report.errors, report.checks]));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['rows', 'passed', 3], ['row-4', 'passed', 0]]);
        assert.match(String(report.stores[0]!.steps[0]!.details!.replayedFrom), /CHANGE MASTER TO/);
      });

      it('a gzip-compressed xbstream is decompressed on the way into mbstream', async () => {
        const gz = join(work, `full-${runtime}.xbstream.gz`);
        await writeFile(gz, gzipSync(await readFile(source.xbstream), { level: 1 }));
        const { code, report } = await cli(await drill('physical-gzip', runtime, `{ artefact: ${JSON.stringify(gz)} }`, [rows(2)]), runtime);
        assert.equal(code, 0, JSON.stringify(report.errors));
        assert.equal(report.stores[0]!.steps[0]!.format, 'mariadb-backup xbstream');
      });

      it('without a target every binlog replays: all five rows', async () => {
        const step = `{ artefact: ${JSON.stringify(source.directory)}, binlogs: [${JSON.stringify(source.binlogs)}] }`;
        const { code, report } = await cli(await drill('replay-all', runtime, step, [rows(5)]), runtime);
        assert.equal(code, 0, JSON.stringify([report.errors, report.checks]));
      });
    });
  }

  describe('corrupt artefacts: a clear error naming the artefact, exit 1, the report written, nothing left running', function () {
    const failing = async (name: string, runtime: string, step: string, pattern: RegExp) => {
      const { code, report } = await cli(await drill(name, runtime, step, [rows(2)]), runtime);
      assert.equal(code, 1, JSON.stringify(report.errors));
      const said = JSON.stringify([report.errors, report.stores.map((s) => s.steps.map((t) => t.error))]);
      assert.match(said, pattern);
      return report;
    };

    for (const runtime of ['local', 'containers'] as const) {
      it(`${runtime}: a truncated xbstream is refused before any server starts`, async () => {
        const cut = join(work, 'cut.xbstream');
        const bytes = await readFile(source.xbstream);
        await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
        await failing(`cut-xbstream-${runtime}`, runtime, `{ artefact: ${JSON.stringify(cut)} }`, /cut\.xbstream: is not a complete xbstream: .*truncated/);
      });

      it(`${runtime}: a backup directory with a corrupt ibdata1 fails its prepare`, async () => {
        const bad = join(work, `corrupt-ibdata-${runtime}`);
        await cp(source.directory, bad, { recursive: true });
        const file = await open(join(bad, 'ibdata1'), 'r+');
        await file.write(Buffer.alloc(4 * 16384, 0xa5), 0, 4 * 16384, 0);
        await file.close();
        await failing(`corrupt-ibdata-${runtime}`, runtime, `{ artefact: ${JSON.stringify(bad)} }`, new RegExp(`corrupt-ibdata-${runtime}: mariadb-backup --prepare failed`));
      });

      it(`${runtime}: a corrupt binlog fails the replay, naming the binlogs`, async () => {
        const dir = join(work, `corrupt-binlogs-${runtime}`);
        await cp(source.binlogs, dir, { recursive: true });
        const file = await open(join(dir, 'binlog.000001'), 'r+');
        const { size } = await file.stat();
        await file.write(Buffer.alloc(200, 0xa5), 0, 200, size - 300);
        await file.close();
        const report = await failing(`corrupt-binlog-${runtime}`, runtime, `{ artefact: ${JSON.stringify(source.directory)}, binlogs: [${JSON.stringify(dir)}] }`, /replaying the binlogs binlog\.000001, binlog\.000002 after .*full failed/);
        assert.equal(report.stores[0]!.steps[0]!.status, 'failed');
      });
    }

    it('local: a target before the backup\'s own changes cannot be reached, and says so instead of restoring newer data', async () => {
      const early = new Date(Date.parse(target) - 3_600_000).toISOString();
      const report = await failing('target-too-early', 'local', `{ artefact: ${JSON.stringify(source.directory)}, binlogs: [${JSON.stringify(source.binlogs)}], target: "${early}" }`, /full already holds a change logged at .*, at or after the target .*: the target cannot be reached from this backup/);
      assert.equal(report.stores[0]!.steps[0]!.details!.target, early);
    });

    it('local: a backup directory without xtrabackup_checkpoints is refused before any server starts', async () => {
      const bad = join(work, 'no-checkpoints');
      await cp(source.directory, bad, { recursive: true });
      await rm(join(bad, 'xtrabackup_checkpoints'));
      await failing('no-checkpoints', 'local', `{ artefact: ${JSON.stringify(bad)} }`, /no-checkpoints: is not a complete mariadb-backup directory: xtrabackup_checkpoints missing/);
    });

    it('local: a plain dump cut in the middle of a statement, and a truncated gzip dump', async () => {
      const text = await readFile(source.dump, 'utf8');
      const cut = join(work, 'mid-statement.sql');
      await writeFile(cut, text.slice(0, text.indexOf('INSERT INTO') + 30));
      await failing('mid-statement', 'local', `{ artefact: ${JSON.stringify(cut)} }`, /mid-statement\.sql: ends before the dump tool's closing '-- Dump completed' line: the file is truncated/);
      const gz = gzipSync(Buffer.from(text));
      const cutGz = join(work, 'cut.sql.gz');
      await writeFile(cutGz, gz.subarray(0, Math.floor(gz.length * 0.7)));
      await failing('cut-gzip', 'local', `{ artefact: ${JSON.stringify(cutGz)} }`, /cut\.sql\.gz/);
    });
  });

  describe('a bad target or missing binlogs is a usage error at load (exit 2, file, line and field)', function () {
    it('names the field of each problem', async () => {
      const step = `{ artefact: ${JSON.stringify(source.directory)}, binlogs: [${JSON.stringify(join(work, 'no-such-binlog.000001'))}], target: "yesterday noon" }`;
      const file = await drill('bad-pitr', 'local', step, [rows(2)]);
      const result = await runCli(['run', file, '--report-dir', join(work, 'reports')]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /bad-pitr-local\.yaml:10:\d+.*spec\.stores\.db\.restore\[0\]\.binlogs\[0\]: not found: .*no-such-binlog\.000001/);
      assert.match(result.stderr, /bad-pitr-local\.yaml:10:\d+.*spec\.stores\.db\.restore\[0\]\.target: "yesterday noon" is not an ISO 8601 time with a zone/);
      const noBinlogs = await drill('target-alone', 'local', `{ artefact: ${JSON.stringify(source.directory)}, target: "${target}" }`, [rows(2)]);
      const alone = await runCli(['run', noBinlogs, '--report-dir', join(work, 'reports')]);
      assert.equal(alone.code, 2, alone.stderr);
      assert.match(alone.stderr, /restore\[0\]\.target: a target needs binlogs/);
    });
  });
});
