import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, repoRoot } from '../support/backends.ts';
import { demoBackups, fixtureDrill, processesMatching, readReport, runCli } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('CLI end to end', function () {
  let reportDir: string;
  let env: Record<string, string>;

  before(async function () {
    requireBackends(this, 'postgres');
    env = { RESTOREPROOF_FIXTURES: (await demoBackups()).dir };
  });
  beforeEach(async () => {
    reportDir = await mkdtemp(join(tmpdir(), 'restoreproof-test-cli-'));
  });
  afterEach(async () => {
    await rm(reportDir, { recursive: true, force: true });
  });

  const runIdOf = (output: string) => /restoreproof run (\S+):/.exec(output)?.[1] ?? assert.fail(`no run id in:\n${output}`);

  async function assertNothingLeft(runId: string) {
    assert.deepEqual(await runDirsNamed(`restoreproof-${runId}`), []);
    assert.deepEqual(await processesMatching(`restoreproof-${runId}`), []);
  }

  it('validate accepts every shipped drill', async () => {
    const drills = (await readdir(join(repoRoot, 'drills'))).filter((f) => f.endsWith('.yaml')).map((f) => `drills/${f}`);
    const result = await runCli(['validate', ...drills]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /ok drills\/demo\.yaml/);
  });

  it('validate: a YAML syntax error exits 2 and prints file:line:col', async () => {
    const result = await runCli(['validate', fixtureDrill('bad-syntax.yaml')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad-syntax\.yaml:10:\d+: YAML syntax error/);
  });

  it('run: an unknown key exits 2, prints file:line:col, and still writes the report', async () => {
    const result = await runCli(['run', fixtureDrill('unknown-key.yaml'), '--report-dir', reportDir], { env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown-key\.yaml:12:11: spec\.stores\.app\.restore\[0\]\.jbos: unknown key "jbos"/);
    const report = await readReport(reportDir, runIdOf(result.stderr));
    assert.equal(report.status, 'error');
  });

  it('run: database: on a pg_dumpall file is a config error (exit 2) naming the artefact and the line of database:', async () => {
    const drill = join(reportDir, 'dumpall.yaml');
    await writeFile(join(reportDir, 'cluster.sql'), '--\n-- PostgreSQL database cluster dump\n--\n\nCREATE ROLE shop;\n');
    await writeFile(drill, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: dumpall }', 'spec:', '  runtime: local', '  stores:', '    db:', '      engine: postgres', '      restore:', '        - artefact: cluster.sql', '          database: shop', ''].join('\n'));
    const result = await runCli(['run', drill, '--report-dir', reportDir], { env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /error E_DRILL_CONFIG: \S*dumpall\.yaml:11:21: spec\.stores\.db\.restore\[0\]\.database: cluster\.sql: is pg_dumpall output, which creates its own roles and databases, so database: cannot apply\n {2}hint: set format: dumpall and remove database from this step/);
    const report = await readReport(reportDir, runIdOf(result.stderr));
    assert.deepEqual([report.status, report.exitCode, report.errors[0]?.path, report.errors[0]?.line], ['error', 2, 'spec.stores.db.restore[0].database', 11]);
    assert.deepEqual([report.phases.map((p) => p.name), report.teardown.resources], [['load', 'preflight', 'verify', 'teardown'], []], 'nothing was provisioned');
  });

  it('run: a passing drill exits 0 with JSON, JUnit, Markdown and HTML reports', async () => {
    const result = await runCli(['run', fixtureDrill('shop.yaml'), '--report-dir', reportDir, '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout);
    const report = await readReport(reportDir, printed.runId);
    assert.equal(report.status, 'passed');
    assert.equal(report.trigger.kind, 'ci');
    const junit = await readFile(join(reportDir, report.reports.junit!), 'utf8');
    assert.equal((junit.match(/<testcase classname="shop\.app" name="[^"]*: /g) ?? []).length, 4 + 0);
    assert.match(junit, /<testsuite name="shop\.checks" tests="4" failures="0"/);
    assert.match(await readFile(join(reportDir, report.reports.markdown!), 'utf8'), /Restore drill `shop`: PASSED/);
    const html = await readFile(join(reportDir, report.reports.html!), 'utf8');
    assert.match(html, /mochawesome/i);
    assert.ok(existsSync(join(reportDir, report.reports.mochawesomeJson!)));
    const mochawesome = JSON.parse(await readFile(join(reportDir, report.reports.mochawesomeJson!), 'utf8'));
    assert.equal(mochawesome.stats.passes, 6); // 2 restore steps + 4 checks
    assert.equal(mochawesome.stats.failures, 0);
    // The page header shows the run's duration (it showed the replay's, 1 ms), and its start and end.
    assert.deepEqual([mochawesome.stats.duration, mochawesome.stats.start, mochawesome.stats.end], [Math.round(report.durationMs), report.startedAt, report.endedAt]);
    const checksMs = report.checks.reduce((sum, c) => sum + c.durationMs, 0);
    assert.ok(mochawesome.stats.duration > checksMs, `header ${mochawesome.stats.duration} ms, checks alone ${checksMs} ms`);
  });

  it('run: a count that cannot hold exits 1; JSON and JUnit name the check, expected and actual', async () => {
    const result = await runCli(['run', fixtureDrill('count-fails.yaml'), '--report-dir', reportDir], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /✗ too-many-customers/);
    const report = await readReport(reportDir, runIdOf(result.stderr));
    const failed = report.checks.find((c) => c.status === 'failed')!;
    assert.deepEqual([failed.id, failed.expected, failed.actual], ['too-many-customers', '= 501', 500]);
    const junit = await readFile(join(reportDir, report.reports.junit!), 'utf8');
    assert.match(junit, /<testsuite name="count-fails\.checks" tests="2" failures="1"/);
    assert.match(junit, /name="too-many-customers: [^"]*" time="[\d.]+">\s*<failure message="customers has 500 rows, expected = 501"/);
  });

  it('run: a truncated dump exits 1 with the pg_restore error in the report and nothing left behind', async () => {
    const result = await runCli(['run', fixtureDrill('truncated.yaml'), '--report-dir', reportDir], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /pg_restore exited with code 1/);
    const report = await readReport(reportDir, runIdOf(result.stderr));
    assert.match(report.stores[0]!.steps[0]!.stderr, /pg_restore: error: /);
    await assertNothingLeft(report.runId);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`run: ${signal} during a restore tears everything down and still writes the report`, async () => {
      let sent = false;
      const result = await runCli(['run', fixtureDrill('slow.yaml'), '--report-dir', reportDir], {
        env,
        onStderr: (text, child) => {
          if (!sent && /restore app: psql/.test(text)) {
            sent = true;
            child.kill(signal);
          }
        },
      });
      assert.ok(sent, result.stderr);
      assert.equal(result.code, signal === 'SIGINT' ? 130 : 143, result.stderr);
      const report = await readReport(reportDir, runIdOf(result.stderr));
      assert.equal(report.status, 'aborted');
      assert.equal(report.teardown.status, 'completed');
      await assertNothingLeft(report.runId);
    });
  }

  it('run --keep leaves the store running and says how to reach it (without the password)', async () => {
    const result = await runCli(['run', fixtureDrill('count-fails.yaml'), '--report-dir', reportDir, '--keep'], { env });
    const report = await readReport(reportDir, runIdOf(result.stderr));
    const kept = report.stores[0]!;
    try {
      assert.equal(report.teardown.status, 'kept');
      assert.equal(kept.kept, true);
      assert.match(result.stderr, /kept app: postgres:\/\/restoreproof_[0-9a-f]+@127\.0\.0\.1:\d+\/postgres/);
      assert.equal((await processesMatching(`restoreproof-${report.runId}`)).length > 0, true);
    } finally {
      const pid = /pid (\d+)/.exec(kept.connection!.join(' '))![1]!;
      process.kill(Number(pid), 'SIGINT');
      const dir = /data dir (\S+)\/data/.exec(kept.connection!.join(' '))![1]!;
      for (let i = 0; i < 100 && (await processesMatching(`restoreproof-${report.runId}`)).length; i++) await new Promise((r) => setTimeout(r, 100));
      await rm(dir, { recursive: true, force: true });
      // A kept run's record of its harness and expiry (for gc) goes with it.
      for (const owner of await runDirsNamed(`restoreproof-${report.runId}-owner.json`)) await rm(owner, { force: true });
    }
    await assertNothingLeft(report.runId);
  });

  it('plan prints every step and touches nothing', async () => {
    // An empty TMPDIR of its own: anything plan created would show up there.
    const scratch = join(reportDir, 'tmp');
    await mkdir(scratch);
    const result = await runCli(['plan', fixtureDrill('shop.yaml')], { env: { ...env, TMPDIR: scratch } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /pg_restore --no-owner --no-privileges --exit-on-error --jobs 2 --dbname shop/);
    assert.match(result.stdout, /gunzip < .*analytics\.sql\.gz \| meta-command guard \(only \\connect, \\encoding, \\restrict, \\unrestrict\) \| psql/);
    assert.match(result.stdout, /customers: count/);
    assert.deepEqual(await readdir(scratch), []);
  });

  describe('baseline capture', () => {
    let source: StartedStore;
    before(async () => {
      source = await startLocalPostgres({ runId: 'baseline-src', drillName: 'shop', storeName: 'src', spec: { engine: 'postgres', restore: [] }, drillDir: tmpdir(), signal: new AbortController().signal });
      const client = new pg.Client({ ...source.endpoint, database: 'postgres' });
      await client.connect();
      await client.query('create database shop');
      await client.end();
      const shop = new pg.Client({ ...source.endpoint, database: 'shop' });
      await shop.connect();
      await shop.query('create table customers (id int primary key); insert into customers select generate_series(1, 7); create table "Odd Name" (x text)');
      await shop.end();
    });
    after(async () => {
      await source?.stop();
    });

    it('reads counts and the schema from a live source inside a read-only snapshot', async () => {
      const out = join(reportDir, 'baseline.json');
      const { host, port, user, password } = source.endpoint;
      const result = await runCli(['baseline', 'capture', fixtureDrill('count-fails.yaml'), '--store', 'app', '--from', `postgres://${user}@${host}:${port}/shop`, '--password-env', 'SRC_PW', '-o', out], { env: { ...env, SRC_PW: password } });
      assert.equal(result.code, 0, result.stderr);
      const baseline = JSON.parse(await readFile(out, 'utf8'));
      assert.deepEqual(baseline.databases.shop.tables, { 'public."Odd Name"': 0, 'public.customers': 7 });
      assert.match(baseline.consistency, /READ ONLY/);
      assert.equal(JSON.stringify(baseline).includes(password), false);
    });

    it('a wrong password exits 2 with a clear message that never echoes the password', async () => {
      const { host, port, user } = source.endpoint;
      const wrong = 'not-the-password-9f8e7d';
      const result = await runCli(['baseline', 'capture', fixtureDrill('count-fails.yaml'), '--from', `postgres://${user}:${wrong}@${host}:${port}/shop`, '-o', join(reportDir, 'b.json')], { env });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /E_AUTH: .*authentication failed/);
      assert.equal(result.stderr.includes(wrong), false);
      assert.equal(existsSync(join(reportDir, 'b.json')), false);
    });
  });
});
