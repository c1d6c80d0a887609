import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { captureMariadbBaseline } from '../../src/engines/mariadb/baseline.ts';
import { withMariadb } from '../../src/engines/mariadb/client.ts';
import { startLocalMariadb } from '../../src/engines/mariadb/local.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useRuntimeBackends, useTestbedBinaries } from '../support/backends.ts';
import { runInlineDrill } from '../support/inline-drill.ts';
import { buildChain, encryptCbcHmac, encryptGcm } from '../support/audit-chain.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const content = (key: string) => `the bytes of ${key}\n`;
/** Keys whose byte order differs from a case- and accent-insensitive collation's (a.txt < B.txt there). */
const fileKeys = ['a.txt', 'B.txt', 'b2.txt', 'C.txt', 'é.txt', 'Z z.txt'];
const oddKeys = ['odd/a.bin', 'odd/Z.bin'];
const odd = '`My Shop`.`My ``odd`` Table`';
const keys = { audit: randomBytes(16).toString('hex'), gcm: randomBytes(32), cbc: randomBytes(64) };
const chain = buildChain(30, keys.audit);
const chainTable = (name: string) => `CREATE TABLE \`My Shop\`.${name} (\`Seq No\` INT PRIMARY KEY, id VARCHAR(20), actor VARCHAR(20), action VARCHAR(20), created_at DATETIME(3), \`Prev Mac\` CHAR(64), mac CHAR(64))`;
const chainRows = (name: string) => `INSERT INTO \`My Shop\`.${name} VALUES ${chain.map((r) => `(${r.seq}, '${r.id}', '${r.actor}', '${r.action}', '${r.createdAt.toISOString().slice(0, 23).replace('T', ' ')}', '${r.prevMac}', '${r.mac}')`).join(', ')}`;

describe('mariadb checks: schema, references, rows, on a real MariaDB', function () {
  let work: string;
  const files: Record<string, string> = {};

  before(async function () {
    requireBackends(this, 'mariadb', 'minio');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-mariadb-checks-'));
    const source: StartedStore = await startLocalMariadb({ runId: 'mariadb-checks-fixture', drillName: 'fixture', storeName: 'source', spec: { engine: 'mariadb', restore: [] } as never, drillDir: work, signal: new AbortController().signal });
    try {
      await withMariadb(source.endpoint, 'source', undefined, async (c) => {
        for (const sql of [
          'CREATE DATABASE shop',
          'CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, UNIQUE KEY by_name (name))',
          "INSERT INTO shop.items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
          `CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, item INT NOT NULL, qty INT NOT NULL DEFAULT 1, note VARCHAR(200) NULL,
             placed DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), KEY by_item_qty (item, qty DESC), KEY by_note (note(10)),
             CONSTRAINT orders_item FOREIGN KEY (item) REFERENCES items (id) ON DELETE CASCADE, CONSTRAINT qty_positive CHECK (qty > 0))`,
          "INSERT INTO shop.orders (item, qty, note) VALUES (1, 2, 'first'), (3, 1, NULL)",
          // A case-insensitive collation: ORDER BY path alone would give a.txt, B.txt, b2.txt, C.txt, é.txt.
          'CREATE TABLE shop.files (id INT PRIMARY KEY, path VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, sha CHAR(64), bytes BIGINT)',
          `INSERT INTO shop.files VALUES ${fileKeys.map((k, i) => `(${i + 1}, '${k}', '${sha(content(k))}', ${Buffer.byteLength(content(k))})`).join(', ')}`,
          'CREATE DATABASE `My Shop`',
          `CREATE TABLE ${odd} (\`Row Id\` INT PRIMARY KEY, \`Some Value\` TEXT, \`Parent Id\` INT NULL, \`Object Key\` VARCHAR(100), \`Sha Sum\` BINARY(32),
             KEY \`By Parent\` (\`Parent Id\`), CONSTRAINT \`Self FK\` FOREIGN KEY (\`Parent Id\`) REFERENCES \`My \`\`odd\`\` Table\` (\`Row Id\`), CONSTRAINT \`Positive Id\` CHECK (\`Row Id\` > 0))`,
          // An HMAC chain (computed by the test's own code), under odd names, and a copy with row 9 changed.
          chainTable('`My ``odd`` Audit`'),
          chainRows('`My ``odd`` Audit`'),
          chainTable('`Audit Changed`'),
          chainRows('`Audit Changed`'),
          "UPDATE `My Shop`.`Audit Changed` SET actor = 'mallory' WHERE `Seq No` = 9",
          'CREATE TABLE shop.secrets (id INT PRIMARY KEY, value TEXT)',
          `INSERT INTO shop.secrets VALUES ${Array.from({ length: 12 }, (_, i) => `(${i}, '${encryptGcm(keys.gcm, `secret ${i}`)}')`).join(', ')}`,
          'CREATE TABLE shop.secrets_cbc (id INT PRIMARY KEY, value VARBINARY(200))',
          `INSERT INTO shop.secrets_cbc VALUES ${Array.from({ length: 5 }, (_, i) => `(${i}, UNHEX('${encryptCbcHmac(keys.cbc, `cbc ${i}`).toString('hex')}'))`).join(', ')}`,
          // Written ten minutes before the dump, whose file time is the backup's point in time.
          'CREATE TABLE shop.`Event Log` (id INT PRIMARY KEY, `Created At` TIMESTAMP(6) NULL)',
          'INSERT INTO shop.`Event Log` VALUES (1, UTC_TIMESTAMP(6) - INTERVAL 20 MINUTE), (2, UTC_TIMESTAMP(6) - INTERVAL 10 MINUTE), (3, NULL)',
          `INSERT INTO ${odd} VALUES (1, 'a', NULL, '${oddKeys[0]}', UNHEX('${sha(content(oddKeys[0]!))}')), (2, NULL, 1, '${oddKeys[1]}', UNHEX('${sha(content(oddKeys[1]!))}')), (3, 'c', 1, NULL, NULL)`,
        ]) await c.query(sql);
      });
      const captured = await captureMariadbBaseline({ connectionString: source.url(), databases: ['shop', 'My Shop'] });
      files.captured = JSON.stringify(captured);
      files.baseline = join(work, 'baseline.json');
      await writeFile(files.baseline, files.captured);
      files.dump = join(work, 'databases.sql');
      const run = await source.exec('mariadb-dump', ['--single-transaction', `--result-file=${files.dump}`, '--databases', 'shop', 'My Shop']);
      assert.equal(run.exitCode, 0, run.stderr);
    } finally {
      await source[Symbol.asyncDispose]();
    }
    // The same dump with the schema changed: a wider column, a longer index prefix.
    const text = await readFile(files.dump, 'utf8');
    files.changed = join(work, 'changed.sql');
    const changed = text.replace('`name` varchar(40) NOT NULL', '`name` varchar(41) NOT NULL').replace('KEY `by_note` (`note`(10))', 'KEY `by_note` (`note`(12))');
    assert.notEqual(changed, text);
    await writeFile(files.changed, changed);
    // The bucket mirror, and one with a.txt missing and C.txt's bytes changed (not its size).
    const mirror = async (name: string, keys: string[], bytes: (key: string) => string) => {
      files[name] = join(work, name);
      for (const key of keys) {
        await mkdir(dirname(join(files[name]!, key)), { recursive: true });
        await writeFile(join(files[name]!, key), bytes(key));
      }
    };
    await mirror('mirror', [...fileKeys, ...oddKeys], content);
    await mirror('damaged', [...fileKeys.filter((k) => k !== 'a.txt'), ...oddKeys], (k) => (k === 'C.txt' ? content(k).toUpperCase() : content(k)));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('baseline capture records the schema fingerprint: columns, indexes, primary, unique, foreign-key and check constraints', () => {
    const captured = JSON.parse(files.captured!) as { databases: Record<string, { schema: { sha256: string; objects: string[] } }> };
    const shop = captured.databases.shop!.schema.objects;
    for (const line of [
      'table orders',
      'column items.name varchar(40) not null',
      'column orders.id int(11) not null auto_increment',
      'column orders.qty int(11) not null default 1',
      'column orders.placed datetime(3) not null default current_timestamp(3)',
      'index orders.by_item_qty: BTREE (item, qty desc)',
      'index orders.by_note: BTREE (note(10))',
      'index items.by_name: unique BTREE (name)',
      'constraint items.PRIMARY: PRIMARY KEY (id)',
      'constraint items.by_name: UNIQUE (name)',
      'constraint orders.orders_item: FOREIGN KEY (item) REFERENCES items (id) ON UPDATE RESTRICT ON DELETE CASCADE',
      'constraint orders.qty_positive: CHECK (`qty` > 0)',
    ]) assert.ok(shop.includes(line), `${line} in ${JSON.stringify(shop, null, 1)}`);
    const mine = captured.databases['My Shop']!.schema.objects;
    for (const line of [
      'table `My ``odd`` Table`',
      'column `My ``odd`` Table`.`Some Value` text default NULL',
      'index `My ``odd`` Table`.`By Parent`: BTREE (`Parent Id`)',
      'constraint `My ``odd`` Table`.`Self FK`: FOREIGN KEY (`Parent Id`) REFERENCES `My ``odd`` Table` (`Row Id`) ON UPDATE RESTRICT ON DELETE RESTRICT',
      'constraint `My ``odd`` Table`.`Positive Id`: CHECK (`Row Id` > 0)',
    ]) assert.ok(mine.includes(line), `${line} in ${JSON.stringify(mine, null, 1)}`);
    assert.match(captured.databases.shop!.schema.sha256, /^[0-9a-f]{64}$/);
  });

  const store = (artefact: string) => ['  stores:', '    db:', '      engine: mariadb', '      restore:', `        - { artefact: ${JSON.stringify(artefact)} }`];
  const bucket = (mirror: string) => ['    bucket:', '      engine: s3', `      restore: [ { artefact: ${JSON.stringify(mirror)}, bucket: files } ]`];

  it('engine: mysql runs the mariadb engine; the report records both names; integrity checks every restored table', async () => {
    const report = await runInlineDrill(work, 'mysql-alias', [
      ...store(files.dump!).map((line) => line.replace('engine: mariadb', 'engine: mysql')),
      '  checks:',
      '    - { id: items, type: count, store: db, database: shop, table: items, expect: { equals: 3 } }',
      '    - { id: whole, type: integrity, store: db }',
    ]);
    assert.equal(report.exitCode, 0, JSON.stringify([report.errors, report.checks]));
    assert.deepEqual([report.stores[0]!.engine, report.stores[0]!.requestedEngine, report.checks[0]!.status], ['mariadb', 'mysql', 'passed']);
    // The restored dump's 9 tables (shop: 6, My Shop: 3), each CHECK TABLE … EXTENDED OK.
    assert.deepEqual([report.checks[1]!.status, report.checks[1]!.message], ['passed', 'CHECK TABLE … EXTENDED: all 9 tables of every user database OK']);
  });

  for (const runtime of ['local', 'containers'] as const) {
    describe(`runtime ${runtime}`, function () {
      useRuntimeBackends(runtime);
      const run = (name: string, lines: string[]) => runInlineDrill(work, `${name}-${runtime}`, lines, runtime);

      it('schema: the restored database matches the captured fingerprint; a changed column and index fail, listed', async () => {
        const checks = [
          '  checks:',
          ...['shop', 'My Shop'].map((d) => `    - { id: ${d === 'shop' ? 'shop' : 'my-shop'}, type: schema, store: db, database: ${JSON.stringify(d)}, baseline: ${JSON.stringify(files.baseline)} }`),
          // The same odd names in the count and baseline checks.
          `    - { id: odd-count, type: count, store: db, database: "My Shop", table: "My \`odd\` Table", where: "\`Parent Id\` = 1", expect: { equals: 2 } }`,
          `    - { id: odd-baseline, type: baseline, store: db, database: "My Shop", baseline: ${JSON.stringify(files.baseline)} }`,
        ];
        const good = await run('schema', [...store(files.dump!), ...checks]);
        assert.equal(good.exitCode, 0, JSON.stringify([good.errors, good.checks]));
        assert.deepEqual(good.checks.map((c) => [c.id, c.status, c.message]), [['shop', 'passed', 'schema matches (41 objects)'], ['my-shop', 'passed', 'schema matches (31 objects)'], ['odd-count', 'passed', 'My `odd` Table has 2 rows'], ['odd-baseline', 'passed', '3 tables match']]);
        const bad = await run('schema-changed', [...store(files.changed!), ...checks]);
        assert.equal(bad.exitCode, 1);
        assert.deepEqual(bad.checks.map((c) => [c.id, c.status]), [['shop', 'failed'], ['my-shop', 'passed'], ['odd-count', 'passed'], ['odd-baseline', 'passed']]);
        assert.equal(
          bad.checks[0]!.message,
          [
            'schema differs from the baseline (- missing, + extra):',
            '- column items.name varchar(40) not null',
            '- index orders.by_note: BTREE (note(10))',
            '+ column items.name varchar(41) not null',
            '+ index orders.by_note: BTREE (note(12))',
          ].join('\n'),
        );
      });

      it('references: every file row and odd-table row has its object with its checksum, in byte order of key; a missing and a changed object fail', async () => {
        const checks = [
          '  checks:',
          `    - { id: files, type: reachability, references: { store: db, database: shop, sql: "SELECT path AS \`key\`, sha, bytes FROM files", sha256Field: sha, sizeField: bytes }, objects: { store: bucket }, orphans: ignore }`,
          `    - { id: odd, type: reachability, references: { store: db, database: "My Shop", sql: ${JSON.stringify('SELECT `Object Key` AS `key`, `Sha Sum` FROM `My ``odd`` Table`')}, sha256Field: "Sha Sum" }, objects: { store: bucket, prefix: odd/ }, orphans: fail }`,
        ];
        const good = await run('references', [...store(files.dump!), ...bucket(files.mirror!), ...checks]);
        assert.equal(good.exitCode, 0, JSON.stringify([good.errors, good.checks]));
        assert.deepEqual(good.checks.map((c) => [c.id, c.status, (c.actual as { matched: number }).matched, (c.actual as { checksumsVerified: number }).checksumsVerified]), [['files', 'passed', 6, 6], ['odd', 'passed', 2, 2]]);
        const bad = await run('references-damaged', [...store(files.dump!), ...bucket(files.damaged!), ...checks]);
        assert.equal(bad.exitCode, 1);
        assert.deepEqual(bad.checks.map((c) => [c.id, c.status]), [['files', 'failed'], ['odd', 'passed']]);
        assert.match(bad.checks[0]!.message!, /1 missing \(a\.txt\); 1 mismatched \(C\.txt: sha256 /);
      });

      it('rows: auditChain, decrypt and freshness read tables and columns with odd names; a changed row, a wrong key and a stale table fail', async () => {
        process.env.TEST_MARIADB_AUDIT_KEY = keys.audit;
        process.env.TEST_MARIADB_GCM_KEY = keys.gcm.toString('base64');
        process.env.TEST_MARIADB_GCM_WRONG = randomBytes(32).toString('base64');
        process.env.TEST_MARIADB_CBC_KEY = keys.cbc.toString('hex');
        const chainCheck = (id: string, table: string) =>
          `    - { id: ${id}, type: auditChain, store: db, database: "My Shop", table: ${JSON.stringify(table)}, orderBy: "Seq No", macColumn: mac, linkColumn: "Prev Mac", algorithm: HMAC-SHA256, key: { env: TEST_MARIADB_AUDIT_KEY }, input: { template: "{prev}|{id}|{actor}|{action}|{created_at}" } }`;
        const report = await run('rows', [
          ...store(files.dump!),
          '  checks:',
          chainCheck('chain', 'My `odd` Audit'),
          chainCheck('chain-changed', '`My Shop`.`Audit Changed`'),
          '    - { id: gcm, type: decrypt, store: db, database: shop, table: secrets, column: value, cipher: aes-256-gcm, key: { env: TEST_MARIADB_GCM_KEY }, sample: 10 }',
          '    - { id: gcm-wrong-key, type: decrypt, store: db, database: shop, table: secrets, column: value, cipher: aes-256-gcm, key: { env: TEST_MARIADB_GCM_WRONG }, sample: 10 }',
          '    - { id: cbc, type: decrypt, store: db, database: shop, table: secrets_cbc, column: value, cipher: aes-256-cbc-hmac-sha256, key: { env: TEST_MARIADB_CBC_KEY }, keyEncoding: hex }',
          '    - { id: fresh, type: freshness, store: db, database: shop, table: "Event Log", column: "Created At", maxAge: 1h }',
          '    - { id: stale, type: freshness, store: db, database: shop, table: "Event Log", column: "Created At", maxAge: 1m }',
        ]);
        const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['chain', 'passed'], ['chain-changed', 'failed'], ['gcm', 'passed'], ['gcm-wrong-key', 'failed'], ['cbc', 'passed'], ['fresh', 'passed'], ['stale', 'failed']], JSON.stringify(report.checks.map((c) => c.message)));
        assert.equal((byId.chain!.actual as { rowsVerified: number }).rowsVerified, 30);
        assert.deepEqual((byId['chain-changed']!.actual as { firstBreak: { key: string; kind: string } }).firstBreak, { ...(byId['chain-changed']!.actual as { firstBreak: object }).firstBreak, key: '9', kind: 'changed' });
        assert.deepEqual(byId.gcm!.actual, { sampled: 10, decrypted: 10, failed: 0 });
        assert.match(byId['gcm-wrong-key']!.message, /10 of 10 sampled values do not open/);
        assert.deepEqual(byId.cbc!.actual, { sampled: 5, decrypted: 5, failed: 0 });
        const age = (byId.fresh!.actual as { dataAgeMs: number }).dataAgeMs;
        assert.ok(age >= 9 * 60_000 && age < 15 * 60_000, `data age ${age}`);
        assert.match(byId.stale!.message, /^newest Event Log\.Created At is \d{4}-\d\d-\d\dT[\d:.]+Z, .* \(more than 1m\)$/);
        for (const secret of [keys.audit, keys.gcm.toString('base64'), keys.cbc.toString('hex')]) assert.ok(!JSON.stringify(report).includes(secret), 'no key in the report');
        assert.equal(report.exitCode, 1);
      });
    });
  }
});
