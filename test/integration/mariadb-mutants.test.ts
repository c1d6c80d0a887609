import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { withMariadb } from '../../src/engines/mariadb/client.ts';
import { mariadbIntegrity } from '../../src/engines/mariadb/integrity.ts';
import { startLocalMariadb } from '../../src/engines/mariadb/local.ts';
import { indexDefinition, mariadbMutants } from '../../src/engines/mariadb/mutants.ts';
import { schemaFingerprint } from '../../src/engines/mariadb/schema-fingerprint.ts';
import type { CheckContext } from '../../src/checks/types.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';

const hour = 3_600_000;

/** Everything a mutant could change: databases, the schema, and every table's rows and AUTO_INCREMENT. */
async function state(c: Connection) {
  const [dbs] = await c.query({ sql: 'SHOW DATABASES', rowsAsArray: true });
  const [tables] = await c.query({ sql: "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY TABLE_NAME", rowsAsArray: true });
  const rows: Record<string, string[]> = {};
  for (const [table] of tables as [string][]) {
    const [all] = await c.query(`SELECT * FROM shop.\`${table}\``);
    rows[table] = (all as object[]).map((r) => JSON.stringify(r)).sort();
  }
  return { databases: (dbs as [string][]).map((d) => d[0]).sort(), tables, schema: (await schemaFingerprint(c, 'shop')).objects, rows };
}

describe('mariadb mutants and integrity, on a real MariaDB', function () {
  let store: StartedStore;
  const read = () => withMariadb(store.endpoint, 'store', undefined, state);
  const integrity = (database?: string) =>
    mariadbIntegrity({ type: 'integrity', store: 'db', ...(database ? { database } : {}) }, { store, database: database ?? 'shop', signal: new AbortController().signal } as CheckContext);

  before(async function () {
    requireBackends(this, 'mariadb');
    useTestbedBinaries();
    store = await startLocalMariadb({ runId: 'mariadb-mutants', drillName: 'mutants', storeName: 'db', spec: { engine: 'mariadb', restore: [] } as never, drillDir: '/tmp', signal: new AbortController().signal });
    await withMariadb(store.endpoint, 'store', undefined, async (c) => {
      for (const sql of [
        "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')",
        'CREATE DATABASE shop',
        'CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, UNIQUE KEY by_name (name))',
        "INSERT INTO shop.items VALUES (0, 'zero'), (1, 'one'), (2, 'two'), (3, 'three')",
        // A child whose rows cascade from items (no mutant may fire it), a CHECK, an ON UPDATE column, a generated column, an id 0.
        `CREATE TABLE shop.orders (id INT AUTO_INCREMENT PRIMARY KEY, item INT NOT NULL, qty INT NOT NULL CHECK (qty > 0), note VARCHAR(20),
           placed DATETIME(3) NOT NULL, touched TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
           total INT AS (qty * 10) VIRTUAL, KEY by_item_qty (item, qty DESC), KEY by_note (note(10)),
           CONSTRAINT orders_item FOREIGN KEY (item) REFERENCES items (id) ON DELETE CASCADE)`,
        `INSERT INTO shop.orders (id, item, qty, note, placed, touched) VALUES ${Array.from({ length: 25 }, (_, i) => `(${i}, ${i % 4}, ${1 + (i % 3)}, ${i % 5 ? `'n${i}'` : 'NULL'}, '2026-01-01 00:00:00' + INTERVAL ${i} HOUR, '2026-01-02 00:00:00.5')`).join(', ')}`,
        'ALTER TABLE shop.orders AUTO_INCREMENT = 100',
        // No key: rows are told apart by their bytes; two are the same.
        "CREATE TABLE shop.log (at DATE, line TEXT) ENGINE=Aria",
        "INSERT INTO shop.log VALUES ('2026-01-01', 'a'), ('2026-01-01', 'a'), ('2026-01-02', 'B'), (NULL, 'b')",
        'CREATE TABLE shop.empty (id INT PRIMARY KEY, at DATETIME)',
        // A trigger would write elsewhere: the table gets no mutants.
        'CREATE TABLE shop.audited (id INT PRIMARY KEY)',
        'CREATE TRIGGER shop.audit AFTER DELETE ON shop.audited FOR EACH ROW INSERT INTO shop.log VALUES (NULL, OLD.id)',
        // What the integrity test damages, outside the mutated database.
        'CREATE DATABASE damage',
        'CREATE TABLE damage.aria (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=Aria',
        'CREATE TABLE damage.myisam (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=MyISAM',
        'CREATE TABLE damage.innodb (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB',
      ]) await c.query(sql);
      for (const table of ['aria', 'myisam', 'innodb']) {
        await c.query(`INSERT INTO damage.${table} SELECT seq, REPEAT(CHAR(65 + seq % 26), 150) FROM damage.seq_1_to_2000`);
      }
    });
  });
  after(async () => {
    await store?.stop();
  });

  it('lists every mutant of each table in a stable order, with ids, descriptions and hints', async () => {
    const mutants = await mariadbMutants.state(store, { engine: 'mariadb', restore: [] } as never, { databases: ['shop'], rpoMs: hour, signal: new AbortController().signal });
    assert.deepEqual(mutants.map((m) => m.id), [
      'drop-relation:shop/empty',
      'delete-row:shop/items', 'delete-tenth:shop/items', 'drop-relation:shop/items', 'change-newest:shop/items', 'drop-index:shop/items/by_name',
      'delete-row:shop/log', 'delete-tenth:shop/log', 'drop-relation:shop/log', 'age-timestamps:shop/log',
      'delete-row:shop/orders', 'delete-tenth:shop/orders', 'drop-relation:shop/orders', 'change-newest:shop/orders',
      'drop-index:shop/orders/by_item_qty', 'drop-index:shop/orders/by_note', 'age-timestamps:shop/orders',
    ]);
    const byId = new Map(mutants.map((m) => [m.id, m]));
    assert.equal(byId.get('delete-row:shop/orders')!.description, 'deleting 1 row of shop.orders');
    assert.equal(byId.get('delete-row:shop/orders')!.hint, 'add a baseline or count check on shop.orders');
    assert.equal(byId.get('change-newest:shop/orders')!.description, 'changing item in the newest row of shop.orders');
    assert.equal(byId.get('age-timestamps:shop/orders')!.description, 'moving every timestamp column of shop.orders back by 2h (twice the RPO)');
    assert.equal(byId.get('drop-index:shop/orders/by_note')!.target, 'shop/orders/by_note');
    const withoutRpo = await mariadbMutants.state(store, { engine: 'mariadb', restore: [] } as never, { databases: ['shop'], signal: new AbortController().signal });
    assert.deepEqual(withoutRpo.filter((m) => m.kind === 'age-timestamps'), []);
  });

  it('each mutant changes what a read sees, and its undo restores rows, ids, indexes and databases exactly', async () => {
    const before = await read();
    const mutants = await mariadbMutants.state(store, { engine: 'mariadb', restore: [] } as never, { databases: ['shop'], rpoMs: hour, signal: new AbortController().signal });
    for (const mutant of mutants) {
      const undo = await mutant.apply(new AbortController().signal);
      const damaged = await read();
      const [, table, index] = mutant.target.split('/') as [string, string, string?];
      const rows = before.rows[table]!;
      switch (mutant.kind) {
        case 'delete-row':
          assert.equal(damaged.rows[table]!.length, rows.length - 1, mutant.id);
          break;
        case 'delete-tenth':
          assert.equal(damaged.rows[table]!.length, rows.length - Math.max(1, Math.floor(rows.length / 10)), mutant.id);
          break;
        case 'drop-relation':
          assert.equal(damaged.rows[table], undefined, mutant.id);
          break;
        case 'change-newest':
        case 'age-timestamps': {
          assert.equal(damaged.rows[table]!.length, rows.length, mutant.id);
          const changed = damaged.rows[table]!.filter((r) => !rows.includes(r));
          assert.equal(changed.length, mutant.kind === 'change-newest' ? 1 : rows.filter((r) => !r.includes('"at":null')).length, `${mutant.id}: ${changed.join(' ')}`);
          break;
        }
        case 'drop-index':
          assert.ok(before.schema.some((l) => l.startsWith(`index ${table}.${index}:`)) && !damaged.schema.some((l) => l.startsWith(`index ${table}.${index}:`)), mutant.id);
          break;
        default:
          assert.fail(`unexpected ${mutant.kind}`);
      }
      await undo();
      assert.deepEqual(await read(), before, `${mutant.id} undone`);
    }
  });

  it('change-newest changes item in the newest row of orders; age-timestamps moves placed back by twice the RPO', async () => {
    const mutants = await mariadbMutants.state(store, { engine: 'mariadb', restore: [] } as never, { databases: ['shop'], rpoMs: hour, signal: new AbortController().signal });
    const newest = () => withMariadb(store.endpoint, 'store', undefined, async (c) => (await c.query('SELECT id, item, placed FROM shop.orders ORDER BY id DESC LIMIT 1'))[0]);
    const was = await newest();
    for (const [id, expected] of [['change-newest:shop/orders', [{ id: 24, item: 1, placed: '2026-01-02 00:00:00.000' }]], ['age-timestamps:shop/orders', [{ id: 24, item: 0, placed: '2026-01-01 22:00:00.000' }]]] as const) {
      const undo = await mutants.find((m) => m.id === id)!.apply(new AbortController().signal);
      assert.deepEqual(await newest(), expected, id);
      await undo();
      assert.deepEqual(await newest(), was);
    }
  });

  it('indexDefinition reads an index line of SHOW CREATE TABLE, odd names included', () => {
    const create = 'CREATE TABLE `t` (\n  `a` int,\n  UNIQUE KEY `a ``b`` c` (`a`) USING BTREE,\n  KEY `k` (`a`) COMMENT \'x\'\n) ENGINE=InnoDB';
    assert.equal(indexDefinition(create, 'a `b` c'), 'UNIQUE KEY `a ``b`` c` (`a`) USING BTREE');
    assert.equal(indexDefinition(create, 'k'), "KEY `k` (`a`) COMMENT 'x'");
    assert.equal(indexDefinition(create, 'missing'), undefined);
  });

  it('integrity: CHECK TABLE … EXTENDED passes on every whole table, and fails naming a table whose file was damaged', async () => {
    const good = await integrity();
    assert.equal(good.passed, true, good.message);
    assert.equal(good.message, 'CHECK TABLE … EXTENDED: all 8 tables of every user database OK');
    const [dataDir] = await withMariadb(store.endpoint, 'store', undefined, async (c) => {
      const [rows] = await c.query({ sql: 'SELECT @@datadir', rowsAsArray: true });
      await c.query('FLUSH TABLES damage.aria, damage.myisam');
      return (rows as [string][])[0]!;
    });
    // Overwrites the middle of the Aria table's data file (its pages carry a checksum) with other bytes.
    const file = await open(join(dataDir, 'damage', 'aria.MAD'), 'r+');
    try {
      const { size } = await file.stat();
      await file.write(Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(size / 2 / 8192) * 8192 + 100);
    } finally {
      await file.close();
    }
    const bad = await integrity('damage');
    assert.equal(bad.passed, false);
    assert.match(bad.message, /^CHECK TABLE … EXTENDED failed for 1 of 3 tables of database damage:\ndamage\.aria: .+; Corrupt$/);
    const shopOnly = await integrity('shop');
    assert.equal(shopOnly.passed, true, shopOnly.message);
  });
});
