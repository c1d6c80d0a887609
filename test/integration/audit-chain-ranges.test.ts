// The audit chain verified in key ranges on parallel worker threads (real PostgreSQL): the same
// verdicts and break messages as one pass, a break in the middle or exactly at a cut between ranges
// found, and COPY text read with its escapes decoded to the very text a query returns.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createSecretKey } from 'node:crypto';
import { runAuditChain } from '../../src/checks/audit-chain.ts';
import { keyRanges, verifyEachRange } from '../../src/checks/audit-chain-ranges.ts';
import { RangeVerifier } from '../../src/checks/audit-chain-verify.ts';
import type { AuditChainCheckSpec } from '../../src/drill/types.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import { postgresRows } from '../../src/engines/postgres/rows.ts';
import { CopyOut } from '../../src/engines/postgres/copy-out.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { buildChain, type AuditRow } from '../support/audit-chain.ts';

const rows = 1200;
/** Actors with every byte COPY text escapes, so the MAC input read from COPY must be the server's text exactly. */
const oddActors = ['tab\there', 'new\nline', 'back\\slash', '\\N', 'carriage\rreturn', 'ünïcødé €', '', 'a\\tb'];
const actor = (seq: number) => (seq % 50 === 0 ? oddActors[(seq / 50) % oddActors.length]! : `user${seq % 7}`);

describe('auditChain in parallel key ranges (real PostgreSQL)', function () {
  let store: StartedStore;
  let client: pg.Client;
  const signal = new AbortController().signal;
  const auditKey = randomBytes(16).toString('hex');
  let cuts: string[];

  const check = (table: string): AuditChainCheckSpec => ({
    type: 'auditChain', store: 'db', table, orderBy: 'seq', macColumn: 'mac', linkColumn: 'prev_mac', algorithm: 'HMAC-SHA256',
    key: { env: 'TEST_RANGES_AUDIT_KEY' }, input: { template: '{prev}|{id}|{actor}|{action}|{created_at}' },
  });
  const run = (table: string, parallelism: number) =>
    runAuditChain(check(table), { store, rows: postgresRows, database: 'chain', drillDir: '/', signal, parallelism, minRowsPerRange: 100 });
  /** What every range found on its own, without the one-pass fallback. */
  const eachRange = async (table: string) => {
    const tableCuts = await postgresRows.splitKeys!(store, { database: 'chain', relation: table, orderBy: 'seq', parts: 4, minRowsPerRange: 100, signal });
    assert.equal(tableCuts.length, 3, `${table} is cut into 4 ranges`);
    const columns = ['seq', 'mac', 'prev_mac', 'id', 'actor', 'action', 'created_at'];
    const job = { module: postgresRows.module!, store: { name: store.name, engine: store.engine, endpoint: store.endpoint }, database: 'chain', relation: table, columns, check: check(table), key: createSecretKey(Buffer.from(auditKey)) };
    return verifyEachRange(keyRanges(tableCuts).map((range) => ({ ...job, range })), 4, new RangeVerifier());
  };

  async function createChainTable(table: string, chain: AuditRow[]) {
    await client.query(`create table ${table} (seq bigint primary key, id text not null, actor text not null, action text not null, created_at timestamptz not null, prev_mac text not null, mac text not null)`);
    await client.query(
      `insert into ${table} select * from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])`,
      [chain.map((r) => r.seq), chain.map((r) => r.id), chain.map((r) => r.actor), chain.map((r) => r.action), chain.map((r) => r.createdAt.toISOString()), chain.map((r) => r.prevMac), chain.map((r) => r.mac)],
    );
  }

  before(async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    process.env.TEST_RANGES_AUDIT_KEY = auditKey;
    store = await startLocalPostgres({ runId: `ranges-${randomBytes(3).toString('hex')}`, drillName: 't', storeName: 'db', spec: { engine: 'postgres', restore: [] }, drillDir: '/', signal });
    const admin = new pg.Client({ ...store.endpoint, database: 'postgres' });
    await admin.connect();
    await admin.query('create database chain');
    await admin.end();
    client = new pg.Client({ ...store.endpoint, database: 'chain' });
    await client.connect();
    const chain = buildChain(rows, auditKey, Date.UTC(2026, 0, 1), actor);
    await createChainTable('ok', chain);
    cuts = await postgresRows.splitKeys!(store, { database: 'chain', relation: 'ok', orderBy: 'seq', parts: 4, minRowsPerRange: 100, signal });
    assert.deepEqual(cuts, ['300', '600', '900']);
    // Through -1: the primary key is checked row by row.
    const swap = (table: string, a: number, b: number) => `update ${table} set seq = -1 where seq = ${a}; update ${table} set seq = ${a} where seq = ${b}; update ${table} set seq = ${b} where seq = -1`;
    const tampered: [string, string][] = [
      ['changed_mid', `update changed_mid set action = 'tampered' where seq = 555`],
      ['deleted_mid', 'delete from deleted_mid where seq = 555'],
      ['reordered_mid', swap('reordered_mid', 555, 556)],
      ['changed_at_cut', `update changed_at_cut set actor = 'mallory' where seq = 600`],
      ['changed_after_cut', `update changed_after_cut set actor = 'mallory' where seq = 601`],
      ['deleted_after_cut', 'delete from deleted_after_cut where seq = 601'],
      ['reordered_at_cut', swap('reordered_at_cut', 600, 601)],
    ];
    for (const [table, tamper] of tampered) {
      await createChainTable(table, chain);
      await client.query(tamper);
    }
    // MACs stored in upper case, all of them or some (links too): the check lowercases a stored MAC.
    await createChainTable('upper_case', chain.map((r) => ({ ...r, mac: r.mac.toUpperCase(), prevMac: r.prevMac.toUpperCase() })));
    await createChainTable('mixed_case', chain.map((r) => ({ ...r, mac: r.seq % 3 === 0 ? r.mac.toUpperCase() : r.mac, prevMac: r.seq % 5 === 0 ? r.prevMac.toUpperCase() : r.prevMac })));
    await createChainTable('upper_case_changed', chain.map((r) => ({ ...r, mac: r.mac.toUpperCase(), prevMac: r.prevMac.toUpperCase() })));
    await client.query(`update upper_case_changed set action = 'tampered' where seq = 777`);
    // A chain whose key is not unique cannot be cut: it verifies in one pass.
    await client.query('create table no_unique_key as select * from ok');
  });

  after(async () => {
    await client?.end();
    await store?.stop();
  });

  it('a valid chain verifies in 4 ranges on worker threads, every row once, with the same outcome as one pass', async () => {
    const ranges = await eachRange('ok');
    assert.deepEqual(ranges.map((r) => r?.breaks), [0, 0, 0, 0]);
    assert.equal(ranges.reduce((n, r) => n + r!.rowsVerified, 0), rows);
    assert.deepEqual(ranges.map((r) => r!.rowsRead), [300, 300, 300, 300]);
    const [parallel, single] = [await run('ok', 4), await run('ok', 1)];
    assert.equal(parallel.passed, true);
    assert.match(parallel.message, /^1200 rows verify \(\d+ rows\/s\)$/);
    assert.equal(parallel.message.replace(/\(\d+ rows\/s\)/, ''), single.message.replace(/\(\d+ rows\/s\)/, ''));
  });

  it("a verifier's ranges share one connection, which it ends when closed; a range given up midway does not stop the next", async () => {
    const job = { module: postgresRows.module!, store: { name: store.name, engine: store.engine, endpoint: store.endpoint }, database: 'chain', relation: 'ok', columns: ['seq', 'mac', 'prev_mac', 'id', 'actor', 'action', 'created_at'], check: check('ok'), key: createSecretKey(Buffer.from(auditKey)) };
    const backends = async () => Number((await client.query<{ n: string }>("select count(*)::text as n from pg_stat_activity where datname = 'chain' and backend_type = 'client backend' and pid <> pg_backend_pid()")).rows[0]!.n);
    const verifier = new RangeVerifier();
    const ranges = keyRanges(cuts);
    for (const range of ranges) assert.equal((await verifier.verify({ ...job, range }, signal))?.rowsVerified, 300);
    assert.equal(await backends(), 1, 'four ranges, one session');
    const stop = new AbortController();
    stop.abort();
    assert.equal(await verifier.verify({ ...job, range: ranges[0]! }, stop.signal), undefined, 'a stopped range has no outcome');
    assert.equal((await verifier.verify({ ...job, range: ranges[1]! }, signal))?.rowsVerified, 300, 'the range after it still verifies');
    await verifier.close();
    assert.equal(await backends(), 0, 'closed: no session left');
  });

  for (const table of ['upper_case', 'mixed_case']) {
    it(`${table}: MACs and links stored in upper case verify in every range, four rows at a time, as in one pass`, async () => {
      const ranges = await eachRange(table);
      assert.deepEqual(ranges.map((r) => r?.breaks), [0, 0, 0, 0]);
      assert.equal(ranges.reduce((n, r) => n + r!.rowsVerified, 0), rows);
      const [parallel, single] = [await run(table, 4), await run(table, 1)];
      assert.equal(parallel.passed, true, parallel.message);
      assert.equal(parallel.message.replace(/\(\d+ rows\/s\)/, ''), single.message.replace(/\(\d+ rows\/s\)/, ''));
    });
  }

  const breaks: [string, string, RegExp][] = [
    ['upper_case_changed', '777', /^chain breaks at seq = 777: changed row \(the row does not verify: its fields were changed\); 1199 of 1200 rows verify, 1 break\(s\)$/],
    ['changed_mid', '555', /^chain breaks at seq = 555: changed row \(the row does not verify: its fields were changed\); 1199 of 1200 rows verify, 1 break\(s\)$/],
    ['deleted_mid', '556', /^chain breaks at seq = 556: deleted row \(links to a MAC no row before it has: a row is missing \(link gap\)\); 1198 of 1199 rows verify, 1 break\(s\)$/],
    ['reordered_mid', '555', /^chain breaks at seq = 555: reordered row \(links to the MAC of row 556, which comes after it\); 1197 of 1200 rows verify, 3 break\(s\)$/],
    ['changed_at_cut', '600', /^chain breaks at seq = 600: changed row \(the row does not verify: its fields were changed\); 1199 of 1200 rows verify, 1 break\(s\)$/],
    ['changed_after_cut', '601', /^chain breaks at seq = 601: changed row \(the row does not verify: its fields were changed\); 1199 of 1200 rows verify, 1 break\(s\)$/],
    ['deleted_after_cut', '602', /^chain breaks at seq = 602: deleted row \(links to a MAC no row before it has: a row is missing \(link gap\)\); 1198 of 1199 rows verify, 1 break\(s\)$/],
    ['reordered_at_cut', '600', /^chain breaks at seq = 600: reordered row \(links to the MAC of row 601, which comes after it\); 1197 of 1200 rows verify, 3 break\(s\)$/],
  ];
  for (const [table, key, message] of breaks) {
    it(`${table}: a range's worker finds the break at seq ${key}, and the check reports it exactly as one pass does`, async () => {
      const found = (await eachRange(table)).filter((r) => r?.firstBreakKey !== undefined).map((r) => r!.firstBreakKey);
      assert.equal(found[0], key, `first break found by a range: ${found.join(', ')}`);
      const parallel = await run(table, 4);
      const single = await run(table, 1);
      assert.equal(parallel.passed, false);
      assert.match(parallel.message, message);
      assert.equal(parallel.message, single.message);
      const { rowsPerSecond: _p, ...parallelActual } = parallel.actual as Record<string, unknown>;
      const { rowsPerSecond: _s, ...singleActual } = single.actual as Record<string, unknown>;
      assert.deepEqual(parallelActual, singleActual);
    });
  }

  it('a key without a unique index is not cut, and the chain still verifies in one pass', async () => {
    assert.deepEqual(await postgresRows.splitKeys!(store, { database: 'chain', relation: 'no_unique_key', orderBy: 'seq', parts: 4, minRowsPerRange: 100, signal }), []);
    const outcome = await run('no_unique_key', 4);
    assert.match(outcome.message, /^1200 rows verify/);
  });

  it('COPY text is decoded to the text a query returns: escapes, nulls, bytea, timestamps, a row larger than a chunk', async () => {
    await client.query(`create table odd (id int primary key, t text, b bytea, ts timestamptz, flag boolean, n numeric)`);
    const texts = [...oddActors, 'x'.repeat(300_000) + '\t\\end', null, '\u0001\u007f', 'ends with backslash \\'];
    for (const [i, t] of texts.entries()) {
      await client.query('insert into odd values ($1, $2, $3, $4, $5, $6)', [i, t, i % 2 ? Buffer.from([0, 9, 10, 92, 255]) : null, i % 3 ? '2026-03-04 05:06:07.891234+02' : null, i % 2 === 0, i % 4 ? '12345.6789' : null]);
    }
    const columns = ['id', 't', 'b', 'ts', 'flag', 'n'];
    const stream = await postgresRows.stream(store, { database: 'chain', relation: 'odd', columns, orderBy: 'id', signal });
    const streamed: (string | null)[][] = [];
    try {
      for await (const row of stream.rows) streamed.push(row.map((c) => (c.kind === 'null' ? null : c.text)));
    } finally {
      await stream.close();
    }
    const raw = new pg.Client({ ...store.endpoint, database: 'chain', types: { getTypeParser: () => (v: string) => v } });
    await raw.connect();
    try {
      await raw.query("set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set bytea_output = 'hex'");
      const { rows: queried } = await raw.query({ text: 'select id, t, b, ts, flag, n from odd order by id', rowMode: 'array' });
      const expected = (queried as (string | null)[][]).map((r) => r.map((v, i) => (v !== null && i === 2 ? v.slice(2) : v)));
      assert.equal(streamed.length, texts.length);
      assert.deepEqual(streamed, expected);
      assert.equal(streamed[0]![1], 'tab\there');
    } finally {
      await raw.end();
    }
  });

  it('COPY read off the socket: every row of many reads once, a server error mid-COPY thrown, and the connection usable after both', async () => {
    const rowsOf = async (sql: string) => {
      const copy = client.query(new CopyOut(`copy (${sql}) to stdout`));
      const seen: string[] = [];
      for await (const batch of copy.batches((buf, start, end) => buf.toString('utf8', start, end))) for (const row of batch) seen.push(row);
      return seen;
    };
    const many = await rowsOf("select i, repeat('x', i % 300) from generate_series(1, 100000) i");
    assert.equal(many.length, 100_000);
    assert.equal(many[99_999], `100000\t${'x'.repeat(100_000 % 300)}\n`);
    assert.ok(many.every((row, i) => row.startsWith(`${i + 1}\t`)));
    assert.equal((await client.query('select 41 + 1 as n')).rows[0].n, 42);
    await assert.rejects(rowsOf('select 1 / (i - 50000) from generate_series(1, 100000) i'), /division by zero/);
    assert.equal((await client.query('select 41 + 1 as n')).rows[0].n, 42);
  });
});
