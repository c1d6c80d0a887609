import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import type { RunReport } from '../../src/report/types.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends } from '../support/backends.ts';
import { runCli } from '../support/fixtures.ts';
import { runInlineDrill } from '../support/inline-drill.ts';

// Content digests in baselines: `baseline capture --content` on a real source, a real dump restored by a
// drill, and the baseline check comparing each table's rows. A value changed in the source after the
// capture (then dumped) must fail the check naming the table, with equal counts.

const source = (engine: string) => ({ runId: `content-${engine}`, drillName: 'content', storeName: 'source', spec: { engine, restore: [] } as never, drillDir: tmpdir(), signal: new AbortController().signal });

/** The checks every engine's drill runs: compared when present, `content: true`, `content: false`, and a baseline without digests demanded. */
const contentChecks = (baseline: string, countsOnly: string, database: string) => [
  '  checks:',
  `    - { id: auto, type: baseline, store: db, database: ${database}, baseline: ${JSON.stringify(baseline)} }`,
  `    - { id: required, type: baseline, store: db, database: ${database}, baseline: ${JSON.stringify(baseline)}, content: true }`,
  `    - { id: counts-only, type: baseline, store: db, database: ${database}, baseline: ${JSON.stringify(baseline)}, content: false }`,
  `    - { id: no-digests, type: baseline, store: db, database: ${database}, baseline: ${JSON.stringify(countsOnly)}, content: true, severity: warn }`,
];

const byId = (report: RunReport) => Object.fromEntries(report.checks.map((c) => [c.id, c]));

describe('baseline content digests (real servers)', function () {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-content-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('postgres: pg_dump -Fc restored, COPY text digests under fixed settings', function () {
    const files: Record<string, string> = {};
    before(async function () {
      requireBackends(this, 'postgres');
      const src: StartedStore = await startLocalPostgres(source('postgres'));
      try {
        const admin = new pg.Client({ ...src.endpoint, database: 'postgres' });
        await admin.connect();
        await admin.query('create database shop');
        await admin.end();
        const shop = new pg.Client({ ...src.endpoint, database: 'shop' });
        shop.on('error', () => {}); // the server is stopped below, whatever failed first
        await shop.connect();
        // Types whose text depends on settings (time zone, date style, float digits, bytea output), a text
        // key whose order depends on the collation, a unique key without a primary key, a table with no
        // key and duplicate rows, and a partitioned table.
        await shop.query(`set timezone = 'America/New_York'; set datestyle = 'SQL, DMY'; set extra_float_digits = 0;
          create table invoices (id int primary key, issued timestamptz, due date, amount numeric(12,2), rate float8, ratio real, span interval, data bytea, note text, tags text[], meta jsonb);
          insert into invoices select i, timestamptz '2024-01-01 10:00:00+00' + i * interval '1 hour', date '2024-02-01' + i, i * 1.25, 1.0 / (i + 3), 0.1 * i, i * interval '90 minutes',
            decode(md5(i::text), 'hex'), case when i % 5 = 0 then null else E'line\\ttab\\nnew ' || i end, array['a', 'b' || i], jsonb_build_object('n', i, 'x', 0.1)
          from generate_series(1, 200) i;
          create table "Customer Names" (name text collate "C" primary key, tier int);
          insert into "Customer Names" values ('alpha', 1), ('Beta', 2), ('beta', 3), ('Zed', 4), ('éclair', 5);
          create table accounts (code text not null unique, balance numeric);
          insert into accounts select 'acc-' || i, i from generate_series(1, 50) i;
          create table events (kind text, at timestamp);
          insert into events select 'tick', timestamp '2024-01-01' + (i % 3) * interval '1 day' from generate_series(1, 30) i;
          create table readings (id int, taken date, value float8, primary key (id, taken)) partition by range (taken);
          create table readings_2024 partition of readings for values from ('2024-01-01') to ('2025-01-01');
          create table readings_2025 partition of readings for values from ('2025-01-01') to ('2026-01-01');
          insert into readings select i, date '2024-06-01' + i * 3, sqrt(i) from generate_series(1, 150) i;`);
        const drill = join(work, 'pg-capture.yaml');
        await writeFile(drill, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: pg-capture }', 'spec:', '  stores:', '    db: { engine: postgres, restore: [{ artefact: unused.dump, database: shop }] }', '  checks: []'].join('\n'));
        const { host, port, user, password } = src.endpoint;
        const capture = async (name: string, extra: string[]) => {
          files[name] = join(work, `${name}.json`);
          const result = await runCli(['baseline', 'capture', drill, '--from', `postgres://${user}@${host}:${port}/shop`, '--password-env', 'SRC_PW', '-o', files[name]!, ...extra], { env: { SRC_PW: password! } });
          assert.equal(result.code, 0, result.stderr);
          return result.stderr;
        };
        assert.match(await capture('pg-baseline', ['--content']), /baseline of shop \(5 tables, with content digests\)/);
        await capture('pg-counts-only', []);
        const dump = async (name: string) => {
          files[name] = join(work, `${name}.dump`);
          const run = await src.exec('pg_dump', ['-Fc', '-f', files[name]!, src.toolUrl('shop')]);
          assert.equal(run.exitCode, 0, run.stderr);
        };
        await dump('pg-good');
        // One value in the newest invoice changed after the baseline; the row count stays the same.
        await shop.query("update invoices set note = 'changed' where id = 200");
        await dump('pg-changed');
        await shop.end();
      } finally {
        await src[Symbol.asyncDispose]();
      }
    });

    it('capture --content records one sha256 digest per table, beside the counts, in the same snapshot', async () => {
      const baseline = JSON.parse(await readFile(files['pg-baseline']!, 'utf8'));
      assert.equal(baseline.version, 1);
      const shop = baseline.databases.shop;
      assert.deepEqual(Object.keys(shop.digests).sort(), Object.keys(shop.tables).sort());
      assert.deepEqual(shop.tables, { 'public."Customer Names"': 5, 'public.accounts': 50, 'public.events': 30, 'public.invoices': 200, 'public.readings': 150 });
      for (const digest of Object.values(shop.digests)) assert.match(digest as string, /^sha256:[0-9a-f]{64}$/);
      assert.match(baseline.consistency, /content digests from the same snapshot/);
      assert.equal(JSON.parse(await readFile(files['pg-counts-only']!, 'utf8')).databases.shop.digests, undefined);
    });

    it('the restored dump has the same digests; a value changed before the dump fails naming the table, counts equal', async () => {
      const drill = (name: string, dump: string) => runInlineDrill(work, name, ['  stores:', '    db:', '      engine: postgres', `      restore: [{ artefact: ${JSON.stringify(dump)}, database: shop }]`, ...contentChecks(files['pg-baseline']!, files['pg-counts-only']!, 'shop')]);
      const good = byId(await drill('pg-good', files['pg-good']!));
      assert.deepEqual([good.auto!.status, good.required!.status, good['counts-only']!.status, good['no-digests']!.status], ['passed', 'passed', 'passed', 'warned']);
      assert.equal(good.auto!.message, '5 tables match the baseline, content of 5 tables identical');
      assert.deepEqual((good.auto!.actual as { content: unknown }).content, { compared: 5, differs: [], notCompared: [] });
      assert.equal(good['counts-only']!.message, '5 tables match the baseline');
      assert.match(good['no-digests']!.message, /pg-counts-only\.json holds no content digests: capture it again with restoreproof baseline capture --content/);

      const changed = byId(await drill('pg-changed', files['pg-changed']!));
      assert.deepEqual([changed.auto!.status, changed.required!.status, changed['counts-only']!.status], ['failed', 'failed', 'passed']);
      assert.equal(changed.auto!.message, 'public.invoices: content differs from the baseline (rows 200 = 200)');
      assert.deepEqual((changed.auto!.actual as { content: unknown }).content, { compared: 5, differs: ['public.invoices'], notCompared: [] });
    });
  });
});
