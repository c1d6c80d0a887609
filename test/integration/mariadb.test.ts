import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { captureMariadbBaseline } from '../../src/engines/mariadb/baseline.ts';
import { withMariadb } from '../../src/engines/mariadb/client.ts';
import { startLocalMariadb } from '../../src/engines/mariadb/local.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useRuntimeBackends, useTestbedBinaries } from '../support/backends.ts';
import { runInlineDrill } from '../support/inline-drill.ts';

describe('mariadb: mariadb-dump output restored through the sandboxed client, counted and queried', function () {
  let work: string;
  const dumps: Record<string, string> = {};

  before(async function () {
    requireBackends(this, 'mariadb');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-mariadb-'));
    // The source: a real mariadbd (the engine's own local server), dumped with the real mariadb-dump.
    const source: StartedStore = await startLocalMariadb({ runId: 'mariadb-fixture', drillName: 'fixture', storeName: 'source', spec: { engine: 'mariadb', restore: [] } as never, drillDir: work, signal: new AbortController().signal });
    try {
      await withMariadb(source.endpoint, 'source', undefined, async (c) => {
        for (const sql of [
          'CREATE DATABASE shop',
          'CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)',
          "INSERT INTO shop.items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
          'CREATE DATABASE `My Shop`',
          'CREATE TABLE `My Shop`.`Weird ``T`` able` (`Id` INT PRIMARY KEY, `Some Value` TEXT)',
          "INSERT INTO `My Shop`.`Weird ``T`` able` VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, NULL)",
          "CREATE USER 'app'@'%' IDENTIFIED BY 'app-password'",
          'GRANT SELECT ON shop.* TO \'app\'@\'%\'',
        ]) await c.query(sql);
      });
      const dump = async (name: string, args: string[]) => {
        dumps[name] = join(work, `${name}.sql`);
        const run = await source.exec('mariadb-dump', ['--single-transaction', `--result-file=${dumps[name]}`, ...args]);
        assert.equal(run.exitCode, 0, run.stderr);
      };
      // The baseline, as `restoreproof baseline capture --from mysql://…` reads it (one consistent snapshot).
      const captured = await captureMariadbBaseline({ connectionString: source.url(), databases: ['shop', 'My Shop'] });
      assert.deepEqual(Object.fromEntries(Object.entries(captured.databases).map(([d, v]) => [d, v.tables])), { shop: { items: 3 }, 'My Shop': { 'Weird `T` able': 4 } });
      dumps.baseline = join(work, 'baseline.json');
      await writeFile(dumps.baseline, JSON.stringify(captured));
      dumps.wrongBaseline = join(work, 'wrong-baseline.json');
      await writeFile(dumps.wrongBaseline, JSON.stringify({ ...captured, databases: { ...captured.databases, shop: { ...captured.databases.shop!, tables: { items: 4 } } } }));
      await dump('single', ['shop']);
      await dump('databases', ['--databases', 'shop', 'My Shop']);
      // --flush-privileges: the worst case, the grant tables of the source reloaded mid-restore.
      await dump('all', ['--all-databases', '--flush-privileges']);
    } finally {
      await source[Symbol.asyncDispose]();
    }
    dumps.gzip = join(work, 'single.sql.gz');
    await writeFile(dumps.gzip, gzipSync(await readFile(dumps.single!)));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const store = (artefact: string, extra = '') => ['  stores:', '    db:', '      engine: mariadb', '      restore:', `        - { artefact: ${JSON.stringify(artefact)}${extra} }`];

  for (const runtime of ['local', 'containers'] as const) {
    describe(`runtime ${runtime}`, function () {
      useRuntimeBackends(runtime);
      const run = (name: string, lines: string[]) => runInlineDrill(work, `${name}-${runtime}`, lines, runtime);

      it('a dump of one database restores into the database the step names; count and query checks pass and fail as they should', async () => {
        const report = await run('single', [
          ...store(dumps.single!, ', database: copy'),
          '  checks:',
          '    - { id: items, type: count, store: db, table: items, expect: { equals: 3 } }',
          '    - { id: two, type: query, store: db, sql: "SELECT name FROM items WHERE id = 2", expect: { equals: two } }',
          '    - { id: where, type: count, store: db, table: copy.items, where: "id > 1", expect: { equals: 2 } }',
          '    - { id: too-many, type: count, store: db, table: items, expect: { min: 4 }, severity: warn }',
        ]);
        assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['items', 'passed', 3], ['two', 'passed', 'two'], ['where', 'passed', 2], ['too-many', 'warned', 3]]);
        assert.deepEqual(report.stores[0]!.steps[0]!.details, { databases: ['copy'] });
      });

      it('--databases: identifiers with backticks, spaces and capitals are counted and queried', async () => {
        const report = await run('databases', [
          ...store(dumps.databases!),
          '  checks:',
          '    - { id: weird, type: count, store: db, database: "My Shop", table: "Weird `T` able", expect: { equals: 4 } }',
          '    - { id: quoted, type: count, store: db, table: "`My Shop`.`Weird ``T`` able`", where: "`Some Value` IS NOT NULL", expect: { equals: 3 } }',
          '    - { id: empty, type: query, store: db, database: "My Shop", sql: "SELECT `Some Value` FROM `Weird ``T`` able` WHERE `Id` = 4", expect: { equals: null } }',
          '    - { id: shop, type: count, store: db, database: shop, table: items, expect: { equals: 3 } }',
        ]);
        assert.equal(report.exitCode, 0, JSON.stringify([report.errors, report.checks]));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['weird', 'passed', 4], ['quoted', 'passed', 3], ['empty', 'passed', null], ['shop', 'passed', 3]]);
      });

      it('--all-databases with users and grants: the grants are restored and the harness keeps its own account', async () => {
        const report = await run('all', [
          ...store(dumps.all!),
          '  checks:',
          "    - { id: app-user, type: query, store: db, database: mysql, sql: \"SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'app'\", expect: { equals: 1 } }",
          "    - { id: app-grant, type: query, store: db, database: mysql, sql: \"SELECT Select_priv FROM mysql.db WHERE User = 'app' AND Db = 'shop'\", expect: { equals: 'Y' } }",
          '    - { id: items, type: count, store: db, database: shop, table: items, expect: { equals: 3 } }',
          '    - { id: weird, type: count, store: db, database: "My Shop", table: "Weird `T` able", expect: { equals: 4 } }',
        ]);
        assert.equal(report.exitCode, 0, JSON.stringify([report.errors, report.checks]));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['app-user', 'passed'], ['app-grant', 'passed'], ['items', 'passed'], ['weird', 'passed']]);
      });
    });
  }

  describe('runtime local', function () {
    useRuntimeBackends('local');
    const run = (name: string, lines: string[]) => runInlineDrill(work, name, lines, 'local');
    const count = ['  checks:', '    - { id: items, type: count, store: db, table: items, expect: { equals: 3 } }'];

    it('baseline: exact row counts of every table equal the captured baseline; a baseline with one more row fails', async () => {
      const checks = (baseline: string) => [
        '  checks:',
        `    - { id: shop, type: baseline, store: db, database: shop, baseline: ${JSON.stringify(baseline)} }`,
        `    - { id: weird, type: baseline, store: db, database: "My Shop", baseline: ${JSON.stringify(baseline)} }`,
      ];
      const good = await run('baseline', [...store(dumps.databases!), ...checks(dumps.baseline!)]);
      assert.equal(good.exitCode, 0, JSON.stringify([good.errors, good.checks]));
      assert.deepEqual(good.checks.map((c) => [c.id, c.status]), [['shop', 'passed'], ['weird', 'passed']]);
      const bad = await run('baseline-wrong', [...store(dumps.databases!), ...checks(dumps.wrongBaseline!)]);
      assert.equal(bad.exitCode, 1);
      assert.deepEqual(bad.checks.map((c) => [c.id, c.status, c.message]), [['shop', 'failed', 'items: 3 restored, expected 4'], ['weird', 'passed', '1 tables match']]);
    });

    it('a gzip dump streams through gunzip', async () => {
      const report = await run('gzip', [...store(dumps.gzip!, ', database: copy'), ...count]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      assert.equal(report.checks[0]!.actual, 3);
    });

    it('a truncated dump fails before any restore, naming the artefact (exit 1, nothing left running)', async () => {
      const text = await readFile(dumps.single!, 'utf8');
      // Cut at a statement's end: the client alone would restore it without an error.
      const cut = join(work, 'cut.sql');
      await writeFile(cut, text.slice(0, text.indexOf('UNLOCK TABLES;') + 'UNLOCK TABLES;\n'.length));
      const report = await run('cut', [...store(cut, ', database: copy'), ...count]);
      assert.equal(report.exitCode, 1);
      assert.match(JSON.stringify(report.errors), /cut\.sql: ends before the dump tool's closing '-- Dump completed' line: the file is truncated/);
    });

    it('a truncated gzip dump fails naming the artefact (exit 1)', async () => {
      const bytes = await readFile(dumps.gzip!);
      const cut = join(work, 'cut.sql.gz');
      await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const report = await run('cut-gzip', [...store(cut, ', database: copy'), ...count]);
      assert.equal(report.exitCode, 1);
      assert.equal(report.stores[0]!.steps[0]!.status, 'failed');
      assert.match(report.stores[0]!.steps[0]!.error!, /cut\.sql\.gz/);
    });

    it('client commands in a dump (\\! and system) are never run', async () => {
      const text = await readFile(dumps.single!, 'utf8');
      for (const [name, command] of [['bang', '\\!'], ['system', 'system']] as const) {
        const marker = join(work, `pwned-${name}`);
        const evil = join(work, `evil-${name}.sql`);
        const at = text.indexOf('LOCK TABLES');
        await writeFile(evil, `${text.slice(0, at)}${command} id > ${marker}\n${text.slice(at)}`);
        const report = await run(`evil-${name}`, [...store(evil, ', database: copy'), ...count]);
        assert.equal(report.exitCode, 1, `${name}: the restore fails`);
        assert.match(report.stores[0]!.steps[0]!.error!, new RegExp(`evil-${name}\\.sql`));
        assert.equal(existsSync(marker), false, `${name}: ${command} did not run`);
      }
    });
  });
});
