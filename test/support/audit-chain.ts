// Test helpers for the app, auditChain, decrypt and freshness checks: a seeded PostgreSQL database
// with HMAC chains (computed here independently of the product code), encrypted columns and a
// license table, dumped with the real pg_dump.
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';

export interface AuditRow {
  seq: number;
  id: string;
  actor: string;
  action: string;
  createdAt: Date;
  prevMac: string;
  mac: string;
}

/** `{prev}|{id}|{actor}|{action}|{created_at}` with ISO timestamps, HMAC-SHA256, hex, genesis ''. */
export function buildChain(n: number, key: string, start = Date.UTC(2026, 0, 1), actor = (seq: number) => `user${seq % 7}`): AuditRow[] {
  const rows: AuditRow[] = [];
  let prev = '';
  for (let seq = 1; seq <= n; seq++) {
    const row = { seq, id: `evt-${String(seq).padStart(6, '0')}`, actor: actor(seq), action: ['login', 'update', 'export', 'delete'][seq % 4]!, createdAt: new Date(start + seq * 61_001) };
    const mac = createHmac('sha256', key).update(`${prev}|${row.id}|${row.actor}|${row.action}|${row.createdAt.toISOString()}`).digest('hex');
    rows.push({ ...row, prevMac: prev, mac });
    prev = mac;
  }
  return rows;
}

/** Canonical JSON chain: prev + JCS({actor, action, seq, at}) with HMAC-SHA512, base64 (keys sorted by hand here). */
export function buildJsonChain(n: number, key: string): { seq: number; actor: string; action: string; at: Date; mac: string }[] {
  const rows = [];
  let prev = 'GENESIS';
  for (let seq = 1; seq <= n; seq++) {
    const row = { seq, actor: `svc-${seq % 3}`, action: seq % 2 ? 'grant' : 'revoke', at: new Date(Date.UTC(2026, 1, 1) + seq * 1000) };
    const json = `{"action":${JSON.stringify(row.action)},"actor":${JSON.stringify(row.actor)},"at":${row.at.getTime()},"seq":${seq}}`;
    const mac = createHmac('sha512', key).update(prev + json).digest('base64');
    rows.push({ ...row, mac });
    prev = mac;
  }
  return rows;
}

export function encryptGcm(key: Buffer, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, ct, cipher.getAuthTag()]).toString('base64');
}

export function encryptCbcHmac(key: Buffer, plaintext: string): Buffer {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', key.subarray(0, 32), iv);
  const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([body, createHmac('sha256', key.subarray(32)).update(body).digest()]);
}

export interface AppFixture {
  dump: string;
  auditKey: string;
  jsonKey: string;
  gcmKey: Buffer;
  cbcKey: Buffer;
  rows: number;
}

async function insertChain(client: pg.Client, table: string, rows: AuditRow[]) {
  await client.query(`create table ${table} (seq int not null, id text not null, actor text not null, action text not null, created_at timestamptz not null, prev_mac text not null, mac text not null)`);
  await client.query(
    `insert into ${table} select * from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])`,
    [rows.map((r) => r.seq), rows.map((r) => r.id), rows.map((r) => r.actor), rows.map((r) => r.action), rows.map((r) => r.createdAt.toISOString()), rows.map((r) => r.prevMac), rows.map((r) => r.mac)],
  );
}

/** Seeds database `app` and dumps it with pg_dump -Fc into dir/app.dump. */
export async function makeAppFixture(dir: string): Promise<AppFixture> {
  const fixture: AppFixture = { dump: join(dir, 'app.dump'), auditKey: randomBytes(16).toString('hex'), jsonKey: randomBytes(16).toString('hex'), gcmKey: randomBytes(32), cbcKey: randomBytes(64), rows: 60 };
  const store = await startLocalPostgres({ runId: `appfix-${randomBytes(3).toString('hex')}`, drillName: 't', storeName: 'src', spec: { engine: 'postgres', restore: [] }, drillDir: dir, signal: new AbortController().signal });
  try {
    const admin = new pg.Client({ ...store.endpoint, database: 'postgres' });
    await admin.connect();
    await admin.query('create database app');
    await admin.end();
    const c = new pg.Client({ ...store.endpoint, database: 'app' });
    await c.connect();
    try {
      await c.query(`create table license (id int primary key, customer text, edition text, seats int, expires_at date);
        insert into license values (1, 'ACME Corp', 'enterprise', 250, '2027-12-31')`);
      const chain = buildChain(fixture.rows, fixture.auditKey);
      for (const t of ['audit_ok', 'audit_changed', 'audit_deleted', 'audit_swapped']) await insertChain(c, t, chain);
      await c.query(`update audit_changed set action = 'tampered' where seq = 17`);
      await c.query(`delete from audit_deleted where seq = 23`);
      await c.query(`update audit_swapped set seq = case seq when 30 then 31 else 30 end where seq in (30, 31)`);
      // Canonical JSON chain with two retired rows that are not part of it.
      const json = buildJsonChain(25, fixture.jsonKey);
      await c.query(`create table audit_json (seq bigint, actor text, action text, at timestamptz, retired boolean not null default false, mac text)`);
      for (const r of json) await c.query('insert into audit_json (seq, actor, action, at, mac) values ($1, $2, $3, $4, $5)', [r.seq, r.actor, r.action, r.at, r.mac]);
      await c.query(`insert into audit_json (seq, actor, action, at, retired, mac) values (7, 'old', 'grant', now(), true, 'x'), (12, 'old', 'revoke', now(), true, 'y')`);
      // Encrypted columns.
      await c.query('create table secrets (id int primary key, value text not null)');
      await c.query('create table secrets_tampered (id int primary key, value text not null)');
      await c.query('create table secrets_cbc (id int primary key, value bytea not null)');
      for (let i = 1; i <= 30; i++) {
        const v = encryptGcm(fixture.gcmKey, `secret-${i}`);
        await c.query('insert into secrets values ($1, $2)', [i, v]);
        const raw = Buffer.from(v, 'base64');
        if (i === 5) raw[14]! ^= 0x01; // one ciphertext bit flipped
        await c.query('insert into secrets_tampered values ($1, $2)', [i, raw.toString('base64')]);
        await c.query('insert into secrets_cbc values ($1, $2)', [i, encryptCbcHmac(fixture.cbcKey, `cbc-${i}`)]);
      }
      // Freshness: the newest event is ten minutes before the dump.
      await c.query(`create table events (id serial, created_at timestamptz not null); insert into events (created_at) select now() - interval '10 minutes' - g * interval '1 hour' from generate_series(0, 20) g`);
    } finally {
      await c.end();
    }
    const dumped = await store.exec('pg_dump', ['-Fc', '-f', fixture.dump, 'app']);
    if (dumped.exitCode !== 0) throw new Error(`pg_dump failed: ${dumped.stderr}`);
  } finally {
    await store.stop();
  }
  return fixture;
}
