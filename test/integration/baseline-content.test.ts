import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Binary, Double, Int32, Long, MongoClient, ObjectId } from 'mongodb';
import pg from 'pg';
import { withMariadb } from '../../src/engines/mariadb/client.ts';
import { startLocalMariadb } from '../../src/engines/mariadb/local.ts';
import { startLocalMongo } from '../../src/engines/mongodb/local.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import type { RunReport } from '../../src/report/types.ts';
import { mutateDrill } from '../../src/run/run.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
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

/** Documents with _ids of our own (numbers, strings), not the driver's default ObjectId. */
type Keyed = { _id: number | string; [field: string]: unknown };

const byId = (report: RunReport) => Object.fromEntries(report.checks.map((c) => [c.id, c]));

/** `restoreproof baseline capture` as a backup script runs it: writes `<work>/<name>.json` and returns its stderr. */
async function captureBaseline(work: string, name: string, engine: string, from: string, password: string | undefined, extra: string[], step: string): Promise<string> {
  const drill = join(work, `${engine}-capture.yaml`);
  await writeFile(drill, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${engine}-capture }`, 'spec:', '  stores:', `    db: { engine: ${engine}, restore: [{ artefact: unused${step} }] }`, '  checks: []'].join('\n'));
  const result = await runCli(['baseline', 'capture', drill, '--from', from, ...(password ? ['--password-env', 'SRC_PW'] : []), '-o', join(work, `${name}.json`), ...extra], { env: password ? { SRC_PW: password } : {} });
  assert.equal(result.code, 0, result.stderr);
  return result.stderr;
}

/** The two baselines each engine's drills read: `<engine>-baseline.json` (--content) and `<engine>-counts-only.json`. */
async function captureBaselines(work: string, engine: string, from: string, password: string | undefined, tables: number, step = ', database: shop'): Promise<void> {
  assert.match(await captureBaseline(work, `${engine}-baseline`, engine, from, password, ['--content'], step), new RegExp(`baseline of shop \\(${tables} tables, with content digests\\)`));
  await captureBaseline(work, `${engine}-counts-only`, engine, from, password, [], step);
}

/** Runs the source's own dump tool; `file` is where it writes. */
async function dumpSource(src: StartedStore, file: string, tool: string, args: string[]): Promise<string> {
  const run = await src.exec(tool, args);
  assert.equal(run.exitCode, 0, run.stderr);
  return file;
}

/** A drill restoring `artefact` into database shop of store db, with the content checks. */
const restoreDrill = (work: string, name: string, engine: string, artefact: string, step = ', database: shop') =>
  runInlineDrill(work, name, ['  stores:', '    db:', `      engine: ${engine}`, `      restore: [{ artefact: ${JSON.stringify(artefact)}${step} }]`, ...contentChecks(join(work, `${engine}-baseline.json`), join(work, `${engine}-counts-only.json`), 'shop')]);

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
        const { host, port, user, password } = src.endpoint;
        const from = `postgres://${user}@${host}:${port}/shop`;
        await captureBaselines(work, 'postgres', from, password, 5);
        const dump = async (name: string) => (files[name] = await dumpSource(src, join(work, `${name}.dump`), 'pg_dump', ['-Fc', '-f', join(work, `${name}.dump`), src.toolUrl('shop')]));
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
      const baseline = JSON.parse(await readFile(join(work, 'postgres-baseline.json'), 'utf8'));
      assert.equal(baseline.version, 1);
      const shop = baseline.databases.shop;
      assert.deepEqual(Object.keys(shop.digests).sort(), Object.keys(shop.tables).sort());
      assert.deepEqual(shop.tables, { 'public."Customer Names"': 5, 'public.accounts': 50, 'public.events': 30, 'public.invoices': 200, 'public.readings': 150 });
      for (const digest of Object.values(shop.digests)) assert.match(digest as string, /^sha256:[0-9a-f]{64}$/);
      assert.match(baseline.consistency, /content digests from the same snapshot/);
      assert.equal(JSON.parse(await readFile(join(work, 'postgres-counts-only.json'), 'utf8')).databases.shop.digests, undefined);
    });

    it('the restored dump has the same digests; a value changed before the dump fails naming the table, counts equal', async () => {
      const good = byId(await restoreDrill(work, 'pg-good', 'postgres', files['pg-good']!));
      assert.deepEqual([good.auto!.status, good.required!.status, good['counts-only']!.status, good['no-digests']!.status], ['passed', 'passed', 'passed', 'warned']);
      assert.equal(good.auto!.message, '5 tables match the baseline, content of 5 tables identical');
      assert.deepEqual((good.auto!.actual as { content: unknown }).content, { compared: 5, differs: [], notCompared: [] });
      assert.equal(good['counts-only']!.message, '5 tables match the baseline');
      assert.match(good['no-digests']!.message, /postgres-counts-only\.json holds no content digests: capture it again with restoreproof baseline capture --content/);

      const changed = byId(await restoreDrill(work, 'pg-changed', 'postgres', files['pg-changed']!));
      assert.deepEqual([changed.auto!.status, changed.required!.status, changed['counts-only']!.status], ['failed', 'failed', 'passed']);
      assert.equal(changed.auto!.message, 'public.invoices: content differs from the baseline (rows 200 = 200)');
      assert.deepEqual((changed.auto!.actual as { content: unknown }).content, { compared: 5, differs: ['public.invoices'], notCompared: [] });
    });

    it('restoreproof mutate: a baseline check with content kills the change-newest mutant of every table; counts alone do not', async () => {
      const file = join(work, 'pg-mutate.yaml');
      const check = (id: string, content: boolean) => `    - { id: ${id}, type: baseline, store: db, database: shop, baseline: ${JSON.stringify(join(work, 'postgres-baseline.json'))}, content: ${content} }`;
      await writeFile(file, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: pg-mutate }', 'spec:', '  runtime: local', '  stores:', '    db:', '      engine: postgres', `      restore: [{ artefact: ${JSON.stringify(files['pg-good'])}, database: shop }]`, '  checks:', check('counts', false), check('content', true)].join('\n'));
      const report = await mutateDrill(file, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
      const changeNewest = report.mutation!.mutants.filter((m) => m.kind === 'change-newest');
      assert.ok(changeNewest.length > 0, JSON.stringify(report.mutation));
      // killedBy names the check that noticed: the content comparison, not the counts (a changed value leaves every count as it was).
      assert.deepEqual(changeNewest.map((m) => [m.target, m.status, m.killedBy]), changeNewest.map((m) => [m.target, 'killed', 'content']));
    });
  });

  describe('mariadb: mariadb-dump restored, values as the server sends them, ordered by key bytes', function () {
    const files: Record<string, string> = {};
    before(async function () {
      requireBackends(this, 'mariadb');
      useTestbedBinaries();
      const src: StartedStore = await startLocalMariadb(source('mariadb'));
      try {
        const sql = (statements: string[]) => withMariadb(src.endpoint, 'source', undefined, async (c) => {
          for (const statement of statements) await c.query(statement);
        });
        // Types whose text depends on the session (TIMESTAMP in UTC), floats, bits, blobs, JSON, a case-insensitive
        // text key, a unique key without a primary key, and a table with no key and duplicate rows.
        await sql([
          'CREATE DATABASE shop',
          'USE shop',
          "CREATE TABLE shop.invoices (id INT PRIMARY KEY, issued TIMESTAMP NULL, due DATE, at DATETIME(6), amount DECIMAL(12,2), rate DOUBLE, ratio FLOAT, flags BIT(5), state ENUM('open','paid'), data BLOB, note TEXT, meta JSON)",
          "SET time_zone = '+05:00'",
          "INSERT INTO shop.invoices SELECT seq, TIMESTAMP '2024-01-01 10:00:00' + INTERVAL seq HOUR, DATE '2024-02-01' + INTERVAL seq DAY, '2024-03-01 00:00:00.123456', seq * 1.25, 1 / (seq + 3), 0.1 * seq, seq % 32, IF(seq % 2, 'open', 'paid'), UNHEX(MD5(seq)), IF(seq % 5 = 0, NULL, CONCAT('line\\ttab\\n', seq)), JSON_OBJECT('n', seq) FROM seq_1_to_200",
          'CREATE TABLE shop.customers (name VARCHAR(40) PRIMARY KEY, tier INT) COLLATE utf8mb4_general_ci',
          "INSERT INTO shop.customers VALUES ('alpha', 1), ('Beta', 2), ('Zed', 3), ('éclair', 4), ('zz', 5)",
          'CREATE TABLE shop.accounts (code VARCHAR(20) NOT NULL, balance DECIMAL(10,2), UNIQUE KEY (code))',
          "INSERT INTO shop.accounts SELECT CONCAT('acc-', seq), seq FROM seq_1_to_50",
          'CREATE TABLE shop.events (kind VARCHAR(10), at DATETIME)',
          "INSERT INTO shop.events SELECT 'tick', DATE '2024-01-01' + INTERVAL (seq % 3) DAY FROM seq_1_to_30",
        ]);
        const { host, port, user, password } = src.endpoint;
        const from = `mysql://${user}@${host}:${port}/shop`;
        await captureBaselines(work, 'mariadb', from, password, 4);
        const dump = async (name: string) => (files[name] = await dumpSource(src, join(work, `${name}.sql`), 'mariadb-dump', ['--single-transaction', `--result-file=${join(work, `${name}.sql`)}`, 'shop']));
        await dump('mariadb-good');
        // One value of the newest invoice changed after the baseline; the row count stays the same.
        await sql(["UPDATE shop.invoices SET ratio = 0.5 WHERE id = 200"]);
        await dump('mariadb-changed');
      } finally {
        await src[Symbol.asyncDispose]();
      }
    });

    it('the restored dump has the same digests; a value changed before the dump fails naming the table, counts equal', async () => {
      const baseline = JSON.parse(await readFile(join(work, 'mariadb-baseline.json'), 'utf8'));
      assert.deepEqual(Object.keys(baseline.databases.shop.digests).sort(), ['accounts', 'customers', 'events', 'invoices']);
      assert.match(baseline.consistency, /the content digests in the same transaction/);
      const good = byId(await restoreDrill(work, 'mariadb-good', 'mariadb', files['mariadb-good']!));
      assert.deepEqual([good.auto!.status, good.required!.status, good['counts-only']!.status, good['no-digests']!.status], ['passed', 'passed', 'passed', 'warned'], JSON.stringify(good.auto));
      assert.equal(good.auto!.message, '4 tables match, content of 4 tables identical');
      const changed = byId(await restoreDrill(work, 'mariadb-changed', 'mariadb', files['mariadb-changed']!));
      assert.deepEqual([changed.auto!.status, changed.required!.status, changed['counts-only']!.status], ['failed', 'failed', 'passed']);
      assert.equal(changed.auto!.message, 'invoices: content differs from the baseline (rows 200 = 200)');
      assert.deepEqual((changed.auto!.actual as { content: unknown }).content, { compared: 4, differs: ['invoices'], notCompared: [] });
    });
  });

  describe('mongodb: mongodump archive restored, raw BSON of each document in _id order (FerretDB in the test bed)', function () {
    const files: Record<string, string> = {};
    before(async function () {
      requireBackends(this, 'mongo');
      useTestbedBinaries();
      const src: StartedStore = await startLocalMongo(source('mongodb'));
      try {
        const client = new MongoClient(src.url(), { directConnection: true });
        await client.connect();
        try {
          const shop = client.db('shop');
          // Number types that decode to the same JavaScript number (int32, int64, double), dates, binary,
          // nested documents and arrays, nulls; string _ids whose order depends on case; an ObjectId collection.
          await shop.collection<Keyed>('invoices').insertMany(Array.from({ length: 120 }, (_, i) => ({
            _id: i + 1, issued: new Date(Date.UTC(2024, 0, 1, i)), amount: new Double(i * 1.5), units: new Int32(i), big: Long.fromNumber(i * 1000),
            data: new Binary(Buffer.from(`bytes-${i}`)), note: i % 5 ? `line\ttab\n${i}` : null, lines: [{ sku: `s${i}`, qty: i % 3 }], meta: { n: i, tags: ['a', 'b'] },
          })));
          await shop.collection<Keyed>('customers').insertMany([{ _id: 'alpha', tier: 1 }, { _id: 'Beta', tier: 2 }, { _id: 'beta', tier: 3 }, { _id: 'Zed', tier: 4 }]);
          await shop.collection('events').insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: new ObjectId(), kind: 'tick', at: new Date(Date.UTC(2024, 0, 1 + (i % 3))) })));
          await captureBaselines(work, 'mongodb', src.url('shop'), undefined, 3, '');
          const dump = async (name: string) => (files[name] = await dumpSource(src, join(work, `${name}.archive`), 'mongodump', [`--uri=${src.url()}`, '--db=shop', `--archive=${join(work, `${name}.archive`)}`]));
          await dump('mongodb-good');
          // One field of the newest invoice changed after the baseline; the count stays the same.
          await shop.collection<Keyed>('invoices').updateOne({ _id: 120 }, { $set: { 'lines.0.qty': 7 } });
          await dump('mongodb-changed');
        } finally {
          await client.close();
        }
      } finally {
        await src[Symbol.asyncDispose]();
      }
    });

    it('the restored archive has the same digests; a value changed before the dump fails naming the collection, counts equal', async () => {
      const baseline = JSON.parse(await readFile(join(work, 'mongodb-baseline.json'), 'utf8'));
      assert.deepEqual(Object.keys(baseline.databases.shop.digests).sort(), ['customers', 'events', 'invoices']);
      const good = byId(await restoreDrill(work, 'mongodb-good', 'mongodb', files['mongodb-good']!, ''));
      assert.deepEqual([good.auto!.status, good.required!.status, good['counts-only']!.status, good['no-digests']!.status], ['passed', 'passed', 'passed', 'warned'], JSON.stringify(good.auto));
      assert.equal(good.auto!.message, '3 collections match, content of 3 collections identical');
      const changed = byId(await restoreDrill(work, 'mongodb-changed', 'mongodb', files['mongodb-changed']!, ''));
      assert.deepEqual([changed.auto!.status, changed.required!.status, changed['counts-only']!.status], ['failed', 'failed', 'passed']);
      assert.equal(changed.auto!.message, 'invoices: content differs from the baseline (rows 120 = 120)');
    });
  });
});
