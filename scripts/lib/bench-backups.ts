// Seeds a mid-size platform for the benchmarks and backs it up with the real tools: PostgreSQL
// (bulk `events` plus an HMAC-chained `audit` table) as `pg_dump -Fc`, MongoDB documents as
// `mongodump --archive --gzip`, and a bucket as a mirror directory (one file per object).
// `scale` is a fraction of the mid-size install of issue 11: at 1, about 1 GB of custom dump,
// 500k documents, 100k objects and 1M audit rows. The result is cached in `dir` (manifest.json is
// written last, so an interrupted seed is redone, never reused).
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { newRunId } from '../../src/run/identity.ts';
import { startLocalMongo } from '../../src/engines/mongodb/local.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import type { StartedStore, StoreEndpoint } from '../../src/runtimes/types.ts';

/** Bump when what is generated changes, so stale caches are redone. */
const generatorVersion = 1;

export const midSize = { eventRows: 15_000_000, auditRows: 1_000_000, mongoDocuments: 500_000, objects: 100_000 };
export const auditKey = 'bench-audit-key';
export const mongoCollections = ['accounts', 'scans', 'findings', 'events'] as const;

export interface BenchBackups {
  version: number;
  scale: number;
  dir: string;
  postgresDump: string;
  mongoArchive: string;
  bucketMirror: string;
  database: string;
  mongoDatabase: string;
  bucket: string;
  counts: { eventRows: number; auditRows: number; mongoDocuments: number; perCollection: Record<string, number>; objects: number };
  bytes: { postgresDump: number; mongoArchive: number; bucketMirror: number };
  seedSeconds: { postgres: number; mongo: number; bucket: number };
}

export function countsFor(scale: number): BenchBackups['counts'] {
  const n = (x: number) => Math.max(1, Math.round(x * scale));
  const mongoDocuments = n(midSize.mongoDocuments);
  const perCollection = Object.fromEntries(mongoCollections.map((c, i) => [c, Math.floor(mongoDocuments / 4) + (i < mongoDocuments % 4 ? 1 : 0)]));
  return { eventRows: n(midSize.eventRows), auditRows: n(midSize.auditRows), mongoDocuments, perCollection, objects: n(midSize.objects) };
}

/** COPY text rows of a valid HMAC-SHA256 chain, generated as the stream is read. */
export function auditChainRows(n: number, key = auditKey): Readable {
  let seq = 0;
  let prev = '';
  const start = Date.UTC(2026, 0, 1);
  return new Readable({
    read() {
      const lines: string[] = [];
      for (let k = 0; k < 5000 && seq < n; k++) {
        seq++;
        const id = `evt-${seq}`;
        const actor = `user${seq % 97}`;
        const action = ['login', 'update', 'export', 'delete'][seq % 4]!;
        const at = new Date(start + seq * 1001).toISOString();
        const mac = createHmac('sha256', key).update(`${prev}|${id}|${actor}|${action}|${at}`).digest('hex');
        lines.push(`${seq}\t${id}\t${actor}\t${action}\t${at}\t${prev}\t${mac}\n`);
        prev = mac;
      }
      this.push(lines.length ? lines.join('') : null);
    },
  });
}

const log = (message: string) => console.error(`[seed] ${message}`);

/** Creates `database` in a fresh server and returns a connected client of it. */
export async function createDatabase(endpoint: StoreEndpoint, database: string): Promise<pg.Client> {
  const admin = new pg.Client({ ...endpoint, database: 'postgres' });
  await admin.connect();
  await admin.query(`create database ${pg.escapeIdentifier(database)}`);
  await admin.end();
  const client = new pg.Client({ ...endpoint, database });
  await client.connect();
  return client;
}

/** The audit table of the chain auditChainRows writes (COPY column order). */
export async function createAuditTable(client: pg.Client): Promise<void> {
  await client.query('create table audit (seq bigint primary key, id text not null, actor text not null, action text not null, created_at timestamptz not null, prev_mac text not null, mac text not null)');
}

async function seedPostgres(store: StartedStore, counts: BenchBackups['counts'], file: string): Promise<void> {
  const client = await createDatabase(store.endpoint, 'app');
  await client.query('create table accounts (id int primary key, name text not null, created_at timestamptz not null)');
  await client.query("insert into accounts select g, 'account-' || g, timestamptz '2025-01-01' + g * interval '1 minute' from generate_series(1, 10000) g");
  // Bulk rows generated server side (no client round trips): md5 text compresses about as well
  // as real identifiers and payloads do, so the dump keeps a realistic size on disk.
  await client.query('create table events (id bigint primary key, account_id int not null references accounts, kind text not null, created_at timestamptz not null, payload text not null)');
  const batch = 1_000_000;
  for (let from = 1; from <= counts.eventRows; from += batch) {
    const to = Math.min(counts.eventRows, from + batch - 1);
    await client.query(
      "insert into events select g, 1 + g % 10000, (array['scan','finding','login','export'])[1 + g % 4], timestamptz '2026-01-01' + g * interval '1 second', md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) from generate_series($1::bigint, $2::bigint) g",
      [from, to],
    );
    log(`postgres events ${to}/${counts.eventRows}`);
  }
  await client.query('create index events_account on events (account_id, created_at)');
  await createAuditTable(client);
  await pipeline(auditChainRows(counts.auditRows), client.query(copyFrom('copy audit from stdin')));
  log(`postgres audit ${counts.auditRows} rows`);
  await client.end();
  const dump = await store.exec('pg_dump', ['--format=custom', '--dbname', 'app', '--file', file]);
  if (dump.exitCode !== 0) throw new Error(`pg_dump failed: ${dump.stderr}`);
}

async function seedMongo(store: StartedStore, counts: BenchBackups['counts'], file: string): Promise<void> {
  const client = new MongoClient(store.url(), { directConnection: true });
  await client.connect();
  try {
    const db = client.db('platform');
    for (const name of mongoCollections) {
      const total = counts.perCollection[name]!;
      const batch = 5000;
      for (let from = 0; from < total; from += batch) {
        const docs = Array.from({ length: Math.min(batch, total - from) }, (_, k) => {
          const i = from + k;
          return { n: i, account: i % 10000, status: ['queued', 'running', 'done'][i % 3], at: new Date(Date.UTC(2026, 0, 1) + i * 1000), tags: [`t${i % 7}`, `t${i % 11}`], body: randomBytes(48).toString('base64') };
        });
        await db.collection(name).insertMany(docs, { ordered: false });
      }
      log(`mongo ${name} ${total} documents`);
    }
  } finally {
    await client.close();
  }
  const dump = await store.exec('mongodump', [`--uri=${store.url()}`, '--db=platform', `--archive=${file}`, '--gzip']);
  if (dump.exitCode !== 0) throw new Error(`mongodump failed: ${dump.stderr}`);
}

async function seedBucket(dir: string, objects: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < objects; i++) {
    const sub = join(dir, 'artefacts', (i % 256).toString(16).padStart(2, '0'));
    if (i < 256) await mkdir(sub, { recursive: true });
    const body = JSON.stringify({ id: i, sha: randomBytes(32).toString('hex'), pad: randomBytes(512 + (i % 1024)).toString('base64') });
    await writeFile(join(sub, `${String(i).padStart(7, '0')}.json`), body);
    bytes += body.length;
  }
  return bytes;
}

/** Reuses `dir` when it holds a finished seed of this scale and generator version. */
export async function benchBackups(dir: string, scale: number): Promise<BenchBackups> {
  const manifest = join(dir, 'manifest.json');
  if (existsSync(manifest)) {
    const cached = JSON.parse(await readFile(manifest, 'utf8')) as BenchBackups;
    if (cached.version === generatorVersion && cached.scale === scale) return cached;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const counts = countsFor(scale);
  const runId = `${newRunId()}-seed`;
  const signal = new AbortController().signal;
  const backups: BenchBackups = {
    version: generatorVersion, scale, dir, database: 'app', mongoDatabase: 'platform', bucket: 'artefacts',
    postgresDump: join(dir, 'app.dump'), mongoArchive: join(dir, 'platform.archive.gz'), bucketMirror: join(dir, 'bucket-mirror'),
    counts, bytes: { postgresDump: 0, mongoArchive: 0, bucketMirror: 0 }, seedSeconds: { postgres: 0, mongo: 0, bucket: 0 },
  };
  const started: StartedStore[] = [];
  const stopAll = () => Promise.allSettled(started.splice(0).map((s) => s.stop()));
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let t0 = performance.now();
    const postgres = await startLocalPostgres({ runId, drillName: 'seed', storeName: 'pg', spec: { engine: 'postgres', restore: [] }, drillDir: dir, signal });
    started.push(postgres);
    await seedPostgres(postgres, counts, backups.postgresDump);
    await stopAll();
    backups.seedSeconds.postgres = (performance.now() - t0) / 1000;
    log(`postgres dump in ${backups.seedSeconds.postgres.toFixed(1)}s`);

    t0 = performance.now();
    const mongo = await startLocalMongo({ runId, drillName: 'seed', storeName: 'mongo', spec: { engine: 'mongodb', restore: [] }, drillDir: dir, signal });
    started.push(mongo);
    await seedMongo(mongo, counts, backups.mongoArchive);
    await stopAll();
    backups.seedSeconds.mongo = (performance.now() - t0) / 1000;
    log(`mongo archive in ${backups.seedSeconds.mongo.toFixed(1)}s`);

    t0 = performance.now();
    backups.bytes.bucketMirror = await seedBucket(backups.bucketMirror, counts.objects);
    backups.seedSeconds.bucket = (performance.now() - t0) / 1000;
    log(`bucket mirror in ${backups.seedSeconds.bucket.toFixed(1)}s`);
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  backups.bytes.postgresDump = (await stat(backups.postgresDump)).size;
  backups.bytes.mongoArchive = (await stat(backups.mongoArchive)).size;
  await writeFile(manifest, `${JSON.stringify(backups, null, 2)}\n`);
  return backups;
}

/** Where cached seeds live: outside the repository, keyed by scale. */
export function benchCacheDir(name: string, scale: number): string {
  return join(process.env.RESTOREPROOF_BENCH_CACHE ?? '/var/tmp/restoreproof-bench', `${name}-scale-${scale}`);
}
