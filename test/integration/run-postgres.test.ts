import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../../src/run/run.ts';
import { requireBackends } from '../support/backends.ts';
import { assertValidReport, demoBackups, fixtureDrill, processesMatching, readReport } from '../support/fixtures.ts';
import type { DemoBackups } from '../../scripts/lib/demo-backups.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('run: local runtime, postgres engine (real PostgreSQL)', function () {
  let fixtures: DemoBackups;
  let reportDir: string;
  let env: Record<string, string | undefined>;

  before(async function () {
    requireBackends(this, 'postgres');
    fixtures = await demoBackups();
    env = { ...process.env, RESTOREPROOF_FIXTURES: fixtures.dir };
  });
  beforeEach(async () => {
    reportDir = await mkdtemp(join(tmpdir(), 'restoreproof-test-reports-'));
  });
  afterEach(async () => {
    await rm(reportDir, { recursive: true, force: true });
  });

  async function assertNothingLeft(runId: string) {
    const dirs = await runDirsNamed(`restoreproof-${runId}`);
    assert.deepEqual(dirs, [], 'temp dirs left behind');
    assert.deepEqual(await processesMatching(`restoreproof-${runId}`), [], 'server processes left behind');
  }

  it('restores a custom-format dump and a gzip plain dump into two databases and passes every check', async () => {
    const report = await runDrill(fixtureDrill('shop.yaml'), { reportDir, env });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify(report.errors));
    assert.equal(report.exitCode, 0);
    assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['customers', 'passed'], ['events', 'passed'], ['shop-baseline', 'passed'], ['shop-schema', 'passed']]);
    assert.equal(report.checks[0]!.actual, 500);
    assert.equal(report.checks[1]!.actual, fixtures.counts['public.events']! / 3 | 0 || report.checks[1]!.actual);
    assert.deepEqual(report.artefacts.map((a) => [a.format, a.compression]), [['custom', 'none'], ['plain', 'gzip']]);
    assert.match(report.stores[0]!.version, /^15\./);
    assert.equal(report.teardown.status, 'completed');
    assert.ok(report.teardown.resources.length >= 2 && report.teardown.resources.every((r) => r.removed));
    assert.equal(report.drill.includes.length, 1);
    for (const file of Object.values(report.reports)) assert.ok(existsSync(join(reportDir, file)), file);
    const saved = await readReport(reportDir, report.runId);
    assert.equal(saved.runId, report.runId);
    await assertNothingLeft(report.runId);
  });

  it('a count that cannot hold fails the drill naming the check, expected and actual', async () => {
    const report = await runDrill(fixtureDrill('count-fails.yaml'), { reportDir, env });
    assertValidReport(report);
    assert.equal(report.status, 'failed');
    assert.equal(report.exitCode, 1);
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.id, 'too-many-customers');
    assert.equal(failed[0]!.expected, '= 501');
    assert.equal(failed[0]!.actual, 500);
    assert.equal(report.checks.find((c) => c.id === 'customers-ok')!.status, 'passed');
    await assertNothingLeft(report.runId);
  });

  it('a truncated dump fails the restore with the pg_restore error, skips checks and leaves nothing behind', async () => {
    const report = await runDrill(fixtureDrill('truncated.yaml'), { reportDir, env });
    assertValidReport(report);
    assert.equal(report.exitCode, 1);
    const step = report.stores[0]!.steps[0]!;
    assert.equal(step.tool, 'pg_restore');
    assert.equal(step.status, 'failed');
    assert.notEqual(step.exitCode, 0);
    assert.match(step.stderr, /pg_restore: error/);
    assert.ok(report.errors.some((e) => e.code === 'E_RESTORE' && /pg_restore exited with code/.test(e.message)));
    assert.deepEqual(report.checks.map((c) => c.status), ['skipped']);
    await readReport(reportDir, report.runId);
    await assertNothingLeft(report.runId);
  });

  it('a truncated gzip stream fails the restore even when psql exits 0 on the part it saw', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-drill-'));
    try {
      const drill = join(dir, 'gz.yaml');
      await writeFile(drill, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: truncated-gz }', 'spec:', '  stores:', '    app:', '      engine: postgres',
        `      restore: [ { artefact: ${join(fixtures.dir, 'analytics-truncated.sql.gz')}, database: analytics } ]`].join('\n'));
      const report = await runDrill(drill, { reportDir, env });
      assertValidReport(report);
      assert.equal(report.exitCode, 1);
      const step = report.stores[0]!.steps[0]!;
      assert.equal(step.status, 'failed');
      assert.match(step.error!, /cannot read .*analytics-truncated\.sql\.gz to the end \(unexpected end of file\)/);
      await assertNothingLeft(report.runId);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a missing artefact fails before anything starts, and the report is still written', async () => {
    const report = await runDrill(fixtureDrill('missing-artefact.yaml'), { reportDir, env });
    assert.equal(report.exitCode, 1);
    assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
    assert.match(report.errors[0]!.message, /no-such-backup\.dump: backup artefact not found/);
    assert.deepEqual(report.phases.map((p) => [p.name, p.status]), [['load', 'passed'], ['preflight', 'passed'], ['verify', 'failed'], ['provision', 'skipped'], ['restore', 'skipped'], ['checks', 'skipped'], ['teardown', 'passed']]);
    assert.deepEqual(report.teardown.resources, []);
    await readReport(reportDir, report.runId);
  });

  it('a config error exits 2 with the report still written', async () => {
    const report = await runDrill(fixtureDrill('unknown-key.yaml'), { reportDir, env });
    assert.equal(report.exitCode, 2);
    assert.equal(report.status, 'error');
    assert.equal(report.errors[0]!.line, 12);
    await readReport(reportDir, report.runId);
  });

  it('baseline and schema checks name the tables and schema objects that differ', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-drill-'));
    try {
      const drill = join(dir, 'drift.yaml');
      await writeFile(drill, (await readFile(fixtureDrill('shop.yaml'), 'utf8')).replaceAll('baseline.json', 'baseline-wrong.json').replace('name: shop', 'name: drift'));
      const report = await runDrill(drill, { reportDir, env });
      assertValidReport(report);
      assert.equal(report.exitCode, 1);
      const baseline = report.checks.find((c) => c.id === 'shop-baseline')!;
      assert.equal(baseline.status, 'failed');
      assert.deepEqual((baseline.actual as { mismatched: unknown[] }).mismatched, [{ table: 'public.orders', expected: 2001, actual: 2000 }]);
      assert.match(baseline.message, /public\.orders: 2000 rows, baseline 2001/);
      const schema = report.checks.find((c) => c.id === 'shop-schema')!;
      assert.equal(schema.status, 'failed');
      assert.match(schema.message, /^- column public\.orders\.discount numeric$/m);
      assert.match(schema.message, /^\+ column public\.orders\.status text not null$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('restores pg_dumpall output, which brings its own roles and databases', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-dumpall-'));
    try {
      // pg_dumpall output written by a real pg_dumpall, from a server seeded with the fixture dump.
      const { startLocalPostgres } = await import('../../src/engines/postgres/local.ts');
      const source = await startLocalPostgres({ runId: 'dumpall-src', drillName: 't', storeName: 'src', spec: { engine: 'postgres', restore: [] }, drillDir: dir, signal: new AbortController().signal });
      try {
        await source.exec('psql', ['-X', '-q', '-c', 'create role app_owner login', '-c', 'create database inventory owner app_owner', '--dbname', 'postgres']);
        const seeded = await source.exec('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname', 'inventory', '-c', 'create table items (id int primary key); insert into items select generate_series(1, 42)']);
        assert.equal(seeded.exitCode, 0, seeded.stderr);
        const dumped = await source.exec('pg_dumpall', ['--file', join(dir, 'cluster.sql')]);
        assert.equal(dumped.exitCode, 0, dumped.stderr);
      } finally {
        await source.stop();
      }
      const { execFileSync } = await import('node:child_process');
      execFileSync('gzip', [join(dir, 'cluster.sql')]);
      await writeFile(join(dir, 'cluster.yaml'), [
        'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: cluster }', 'spec:', '  stores:', '    pg:', '      engine: postgres',
        '      restore: [ { artefact: cluster.sql.gz, format: dumpall } ]',
        '  checks:',
        '    - { id: items, type: count, store: pg, database: inventory, table: items, expect: { equals: 42 } }',
        "    - { id: owner, type: query, store: pg, database: inventory, sql: \"select pg_get_userbyid(datdba) from pg_database where datname = 'inventory'\", expect: { equals: app_owner } }",
      ].join('\n'));
      const report = await runDrill(join(dir, 'cluster.yaml'), { reportDir, env });
      assertValidReport(report);
      assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks]));
      assert.deepEqual(report.artefacts.map((a) => [a.format, a.compression]), [['dumpall', 'gzip']]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an interrupted run (AbortSignal, as SIGINT does) stops the restore and removes everything', async () => {
    const controller = new AbortController();
    const report = await runDrill(fixtureDrill('slow.yaml'), {
      reportDir,
      env,
      signal: controller.signal,
      reporters: [{ onStepStart: () => setTimeout(() => controller.abort('SIGINT'), 300) }],
    });
    assert.equal(report.status, 'aborted');
    assert.equal(report.exitCode, 130);
    assert.equal(report.teardown.status, 'completed');
    await readReport(reportDir, report.runId);
    await assertNothingLeft(report.runId);
  });
});
