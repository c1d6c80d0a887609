import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { influxQuery, influxWrite } from '../../src/engines/influxdb/client.ts';
import { fieldValue, influxMutants, rfc3339Nanos } from '../../src/engines/influxdb/mutants.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { startLocalInflux } from '../../src/engines/influxdb/local.ts';
import { requireBackends, testbedImageEnv, useRuntimeBackends, useTestbedBinaries } from '../support/backends.ts';
import { runInlineDrill } from '../support/inline-drill.ts';
import { sh } from '../support/source-backups.ts';


describe('influxdb: a portable backup restored with influxd restore -portable, points and series counted', function () {
  let work: string;
  let backup: string;

  before(async function () {
    requireBackends(this, 'influxdb');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-influxdb-'));
    backup = join(work, 'influx-backup');
    // The source: a real influxd, seeded over HTTP /write with line protocol, backed up with influxd backup -portable.
    const source = await startLocalInflux({ runId: 'influx-fixture', drillName: 'fixture', storeName: 'source', spec: { engine: 'influxdb', restore: [] }, drillDir: work, signal: new AbortController().signal });
    try {
      await influxQuery(source.endpoint, 'CREATE DATABASE metrics');
      await influxQuery(source.endpoint, 'CREATE DATABASE other');
      const t0 = 1_767_225_600; // 2026-01-01T00:00:00Z
      const lines: string[] = [];
      for (const host of ['a', 'b', 'c']) for (let i = 0; i < 10; i++) lines.push(`cpu,host=${host},region=eu usage=${i * 1.5},idle=${100 - i} ${t0 + i * 60}`);
      for (const host of ['a', 'b']) for (let i = 0; i < 5; i++) lines.push(`mem,host=${host} used=${i * 1024}i ${t0 + i * 60}`);
      const auth = `Basic ${Buffer.from(`${source.endpoint.user}:${source.endpoint.password}`).toString('base64')}`;
      for (const [db, body] of [['metrics', lines.join('\n')], ['other', `disk,host=a free=1 ${t0}`]] as const) {
        const r = await fetch(`http://127.0.0.1:${source.endpoint.port}/write?db=${db}&precision=s`, { method: 'POST', body, headers: { authorization: auth } });
        assert.equal(r.status, 204, await r.text());
      }
      await sh(process.env.RESTOREPROOF_INFLUXD!, ['backup', '-portable', '-host', source.toolUrl(), backup]);
    } finally {
      await source.stop();
    }
    assert.ok((await readdir(backup)).some((f) => f.endsWith('.manifest')));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const run = (name: string, lines: string[]) => runInlineDrill(work, name, lines);

  it('restores every database of the backup and counts points and series per measurement', async () => {
    const report = await run('influx', [
      '  stores:', '    tsdb:', '      engine: influxdb', '      restore:', `        - artefact: ${backup}`,
      '  checks:',
      '    - { id: cpu-points, type: points, store: tsdb, database: metrics, measurement: cpu, expect: { equals: 30 } }',
      '    - { id: cpu-series, type: points, count: series, store: tsdb, database: metrics, measurement: cpu, expect: { equals: 3 } }',
      '    - { id: mem-points, type: points, store: tsdb, database: metrics, measurement: mem, expect: { equals: 10 } }',
      '    - { id: disk-points, type: points, store: tsdb, database: other, measurement: disk, expect: { equals: 1 } }',
      '    - { id: too-many, type: points, store: tsdb, database: metrics, measurement: mem, expect: { min: 11 }, severity: warn }',
    ]);
    assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
    assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [
      ['cpu-points', 'passed', 30], ['cpu-series', 'passed', 3], ['mem-points', 'passed', 10], ['disk-points', 'passed', 1], ['too-many', 'warned', 10],
    ]);
    const step = report.stores[0]!.steps[0]!;
    assert.equal(step.tool, 'influxd');
    assert.deepEqual(step.args.slice(0, 3), ['restore', '-portable', '-host']);
    assert.deepEqual((step.details as { databases: string[] }).databases.sort(), ['metrics', 'other']);
    assert.match(report.artefacts[0]!.format, /^influx portable \((metrics, other|other, metrics);/);
    assert.equal(report.artefacts[0]!.pointInTime!.source.startsWith('manifest name '), true);
  });

  it('restores one database under a new name (-db, -newdb)', async () => {
    const report = await run('influx-newdb', [
      '  stores:', '    tsdb:', '      engine: influxdb', '      restore:', `        - { artefact: ${backup}, database: metrics, newDatabase: metrics_restored }`,
      '  checks:', '    - { id: cpu, type: points, store: tsdb, database: metrics_restored, measurement: cpu, expect: { equals: 30 } }',
    ]);
    assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
    assert.deepEqual((report.stores[0]!.steps[0]!.details as { databases: string[] }).databases, ['metrics_restored']);
  });

  describe('mutants: delete-row deletes the points at a measurement\'s newest time and writes them back', function () {
    let store: StartedStore;
    const t0 = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z in ns
    const everything = async () => JSON.stringify(await influxQuery(store.endpoint, 'SELECT * FROM /.*/ GROUP BY *', 'metrics'));
    const points = async (measurement: string) => Number((await influxQuery(store.endpoint, `SELECT COUNT(*) FROM "${measurement}"`, 'metrics'))[0]?.values?.[0]?.slice(1).reduce((a, b) => Math.max(Number(a), Number(b)), 0) ?? 0);

    before(async () => {
      store = await startLocalInflux({ runId: 'influx-mutants', drillName: 'mutants', storeName: 'tsdb', spec: { engine: 'influxdb', restore: [] }, drillDir: work, signal: new AbortController().signal });
      await influxQuery(store.endpoint, 'CREATE DATABASE metrics');
      await influxQuery(store.endpoint, 'CREATE DATABASE two_policies');
      await influxQuery(store.endpoint, 'CREATE RETENTION POLICY weekly ON two_policies DURATION 7d REPLICATION 1');
      await influxWrite(store.endpoint, 'two_policies', [`disk,host=a free=1 ${t0}`]);
      await influxWrite(store.endpoint, 'metrics', [
        // Odd tags and every field type; two series share the newest time, one series ends earlier.
        ...[0n, 1n, 2n].map((i) => `cpu,host=a\\ b,region=eu\\,west usage=${Number(i) * 1.5 + 0.1},idle=${100n - i}i,up=true,note="say \\"hi\\" \\\\ ok" ${t0 + i * 60_000_000_001n}`),
        `cpu,host=c usage=7.25,idle=42i ${t0 + 2n * 60_000_000_001n}`,
        `cpu,host=d usage=1 ${t0}`,
        `mem used=1024i ${t0 + 5n}`,
      ]);
    });
    after(async () => {
      await store?.stop();
    });

    it('each measurement of a database with one retention policy has one; the count drops and the undo restores every point exactly', async () => {
      const mutants = await influxMutants.state(store, { engine: 'influxdb', restore: [] }, { databases: ['metrics', 'two_policies'], signal: new AbortController().signal });
      assert.deepEqual(mutants.map((m) => [m.id, m.description, m.hint]), [
        ['delete-row:metrics/cpu', 'deleting the points of metrics.cpu at its newest time', 'add a points check on metrics.cpu'],
        ['delete-row:metrics/mem', 'deleting the points of metrics.mem at its newest time', 'add a points check on metrics.mem'],
      ]);
      const before = await everything();
      assert.match(before, /say \\"hi\\" \\\\ ok/);
      for (const [mutant, measurement, left] of [[mutants[0]!, 'cpu', 3], [mutants[1]!, 'mem', 0]] as const) {
        const was = await points(measurement);
        const undo = await mutant.apply(new AbortController().signal);
        assert.equal(await points(measurement), left, mutant.id);
        assert.ok(was > left);
        await undo();
        assert.equal(await everything(), before, `${mutant.id} undone`);
      }
    });

    it('rfc3339Nanos and fieldValue keep nanoseconds, types and quotes', () => {
      assert.equal(rfc3339Nanos('2026-01-01T00:01:00.000000001Z'), t0 + 60_000_000_001n);
      assert.equal(rfc3339Nanos('2026-01-01T00:00:00Z'), t0);
      assert.deepEqual([fieldValue(3, 'integer', 'x'), fieldValue(0.1, 'float', 'x'), fieldValue(false, 'boolean', 'x'), fieldValue('a"b\\', 'string', 'x')], ['3i', '0.1', 'false', '"a\\"b\\\\"']);
      assert.throws(() => fieldValue(2 ** 60, 'integer', 'cpu.big'), /cpu\.big = .* cannot be written back exactly/);
    });
  });

  describe('on the containers runtime (the test bed influxdb image; no per-engine code in the runtime)', function () {
    useRuntimeBackends('containers');

    it('restores the same backup inside a container through its RPC service and counts the same points', async () => {
      const report = await runInlineDrill(work, 'influx-containers', [
        '  stores:', '    tsdb:', '      engine: influxdb', '      restore:', `        - { artefact: ${backup}, database: metrics, newDatabase: metrics_restored }`,
        '  checks:',
        '    - { id: cpu-points, type: points, store: tsdb, database: metrics_restored, measurement: cpu, expect: { equals: 30 } }',
        '    - { id: cpu-series, type: points, count: series, store: tsdb, database: metrics_restored, measurement: cpu, expect: { equals: 3 } }',
        '    - { id: mem-points, type: points, store: tsdb, database: metrics_restored, measurement: mem, expect: { equals: 11 } }',
      ], 'containers');
      assert.equal(report.runtime, 'containers');
      assert.equal(report.exitCode, 1, 'mem holds 10 points, so the third check fails the drill');
      assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['cpu-points', 'passed', 30], ['cpu-series', 'passed', 3], ['mem-points', 'failed', 10]]);
      const step = report.stores[0]!.steps[0]!;
      assert.equal(step.status, 'passed', step.error);
      assert.deepEqual(step.args.slice(0, 4), ['restore', '-portable', '-host', '127.0.0.1:8088']);
      assert.deepEqual((step.details as { databases: string[] }).databases, ['metrics_restored']);
      assert.match(report.stores[0]!.version ?? '', /^1\./);
      const image = testbedImageEnv().RESTOREPROOF_IMAGE_INFLUXDB!;
      assert.ok(report.teardown.resources.some((r) => r.kind === 'container' && r.image === image && r.removed), JSON.stringify(report.teardown.resources));
      const docker = (args: string[]) => execFileSync('docker', ['-H', testbedImageEnv().DOCKER_HOST!, ...args], { encoding: 'utf8' }).trim();
      assert.equal(docker(['ps', '-aq', '--filter', `label=restoreproof.run=${report.runId}`]), '', 'no container of the run is left');
      assert.equal(docker(['network', 'ls', '-q', '--filter', `label=restoreproof.run=${report.runId}`]), '', 'no network of the run is left');
    });
  });

  it('a directory that is not a portable backup fails at verify, naming it', async () => {
    const notBackup = join(work, 'not-a-backup');
    await mkdir(notBackup, { recursive: true });
    await writeFile(join(notBackup, 'meta.00'), 'legacy or junk');
    const report = await run('influx-bad', ['  stores:', '    tsdb:', '      engine: influxdb', '      restore:', `        - artefact: ${notBackup}`]);
    assert.equal(report.exitCode, 1);
    assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
    assert.equal(report.errors[0]!.message, `${notBackup}: is not an InfluxDB portable backup (no *.manifest file)`);
    assert.equal(report.phases.find((p) => p.name === 'provision')!.status, 'skipped');
    const noDb = await run('influx-nodb', ['  stores:', '    tsdb:', '      engine: influxdb', '      restore:', `        - { artefact: ${backup}, database: nope }`]);
    assert.match(noDb.errors[0]!.message, /: holds no database nope \(databases: /);
  });

  it('a manifest whose shard files are missing fails at verify (influxd restore would skip them and exit 0)', async () => {
    const broken = join(work, 'broken-backup');
    await mkdir(broken);
    const shards = (await readdir(backup)).filter((f) => f.endsWith('.tar.gz'));
    for (const f of await readdir(backup)) if (!f.endsWith('.tar.gz')) await sh('cp', [join(backup, f), join(broken, f)]);
    const report = await run('influx-broken', ['  stores:', '    tsdb:', '      engine: influxdb', '      restore:', `        - artefact: ${broken}`]);
    assert.equal(report.exitCode, 1);
    assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
    assert.ok(shards.some((f) => report.errors[0]!.message === `${broken}: ${f}, listed in ${shards[0]!.split('.')[0]}.manifest, is missing`), report.errors[0]!.message);
    assert.equal(report.phases.find((p) => p.name === 'restore')!.status, 'skipped');
  });
});
