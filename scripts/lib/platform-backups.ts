// Seeds a small multi-store platform (documents in MongoDB, workflow and artefact metadata in
// PostgreSQL, artefacts in a bucket, sessions in Redis) into real servers and backs each store up
// with its real tool: mongodump --archive --gzip, pg_dump -Fc, a bucket mirror, Redis SAVE.
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { capturePostgresBaseline } from '../../src/engines/postgres/baseline.ts';
import { newRunId } from '../../src/run/identity.ts';
import { startLocalMongo } from '../../src/engines/mongodb/local.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import { freePort, LocalServer } from '../../src/runtimes/local/server.ts';
import { redisClient } from '../../src/engines/redis/client.ts';
import { redisServerBinary } from '../../src/engines/redis/local.ts';

export interface PlatformBackups {
  dir: string;
  mongoArchive: string;
  postgresDump: string;
  bucketMirror: string;
  redisRdb: string;
  baseline: string;
  counts: { scans: number; findings: number; users: number; artefacts: number; sessions: number };
  /** Keys planted to test reachability. */
  planted: { missing: string[]; orphans: string[]; mismatched: string[] };
}

export interface PlatformOptions {
  scale?: number;
  /** Plant one missing, one orphan and one mismatched object. */
  damage?: boolean;
}

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export async function makePlatformBackups(dir: string, options: PlatformOptions = {}): Promise<PlatformBackups> {
  const scale = options.scale ?? 1;
  await mkdir(dir, { recursive: true });
  const runId = `${newRunId()}-seed`;
  const signal = new AbortController().signal;
  const counts = { scans: 40 * scale, findings: 120 * scale, users: 15 * scale, artefacts: 40 * scale, sessions: 25 * scale };
  const planted = { missing: [] as string[], orphans: [] as string[], mismatched: [] as string[] };

  // Artefacts: one object per scan, referenced from MongoDB (scans.artefactKey) and PostgreSQL (artefacts table).
  const objects = Array.from({ length: counts.artefacts }, (_, i) => {
    const key = `scans/${String(i + 1).padStart(5, '0')}/report.json`;
    const body = Buffer.from(JSON.stringify({ scan: i + 1, findings: (i * 7) % 13, pad: 'x'.repeat(200 + (i % 50)) }));
    return { key, body, sha256: sha(body), size: body.length };
  });

  const mirror = join(dir, 'bucket-mirror');
  await rm(mirror, { recursive: true, force: true });
  for (const [i, o] of objects.entries()) {
    let body = o.body;
    if (options.damage && i === 1) {
      planted.missing.push(o.key);
      continue;
    }
    if (options.damage && i === 2) {
      planted.mismatched.push(o.key);
      body = Buffer.from(o.body.toString().replace('"scan"', '"SCAN"'));
    }
    await mkdir(join(mirror, o.key, '..'), { recursive: true });
    await writeFile(join(mirror, o.key), body);
  }
  if (options.damage) {
    const orphan = 'scans/99999/report.json';
    planted.orphans.push(orphan);
    await mkdir(join(mirror, orphan, '..'), { recursive: true });
    await writeFile(join(mirror, orphan), 'nobody references me');
  }

  // MongoDB (the test bed's MongoDB-wire server or a real mongod).
  const mongo = await startLocalMongo({ runId, drillName: 'seed', storeName: 'mongo', spec: { engine: 'mongodb', restore: [] }, drillDir: dir, signal });
  const mongoArchive = join(dir, 'mongo.archive.gz');
  try {
    const client = new MongoClient(mongo.url(), { directConnection: true });
    await client.connect();
    const db = client.db('plexicus');
    await db.collection('users').insertMany(Array.from({ length: counts.users }, (_, i) => ({ email: `user${i}@example.com`, role: i % 5 === 0 ? 'admin' : 'member' })));
    await db.collection('scans').insertMany(objects.map((o, i) => ({ scanId: i + 1, status: 'done', artefactKey: o.key, artefactSha256: o.sha256, finishedAt: new Date(Date.UTC(2026, 10, 20, 1, 0, i)) })));
    await db.collection('findings').insertMany(Array.from({ length: counts.findings }, (_, i) => ({ scanId: 1 + (i % counts.scans), severity: ['low', 'medium', 'high'][i % 3] })));
    await db.createCollection('audit_empty');
    await client.close();
    const dump = await mongo.exec('mongodump', [`--uri=${mongo.url()}`, '--db=plexicus', `--archive=${mongoArchive}`, '--gzip']);
    if (dump.exitCode !== 0) throw new Error(`mongodump failed: ${dump.stderr}`);
  } finally {
    await mongo.stop();
  }

  // PostgreSQL: workflow history plus the artefact metadata (path, sha256, size).
  const postgres = await startLocalPostgres({ runId, drillName: 'seed', storeName: 'pg', spec: { engine: 'postgres', restore: [] }, drillDir: dir, signal });
  const postgresDump = join(dir, 'platform.dump');
  const baseline = join(dir, 'baseline.json');
  try {
    const admin = new pg.Client({ ...postgres.endpoint, database: 'postgres' });
    await admin.connect();
    await admin.query('create database platform');
    await admin.end();
    const client = new pg.Client({ ...postgres.endpoint, database: 'platform' });
    await client.connect();
    await client.query('create table workflows (id serial primary key, name text not null, started_at timestamptz not null)');
    await client.query("insert into workflows (name, started_at) select 'scan-' || g, timestamptz '2026-11-20' + g * interval '1 minute' from generate_series(1, $1) g", [counts.scans]);
    await client.query('create table artefacts (id serial primary key, path text not null unique, sha256 text not null, size bigint not null)');
    for (const o of objects) await client.query('insert into artefacts (path, sha256, size) values ($1, $2, $3)', [o.key, o.sha256, o.size]);
    await client.end();
    const dump = await postgres.exec('pg_dump', ['--format=custom', '--compress=9', '--dbname', 'platform', '--file', postgresDump]);
    if (dump.exitCode !== 0) throw new Error(`pg_dump failed: ${dump.stderr}`);
    const { host, port, user, password } = postgres.endpoint;
    const captured = await capturePostgresBaseline({ connectionString: `postgres://${user}@${host}:${port}/platform`, password });
    await writeFile(baseline, `${JSON.stringify(captured, null, 2)}\n`);
  } finally {
    await postgres.stop();
  }

  // Redis: sessions, then SAVE; the RDB is what a backup copies.
  const redisRdb = join(dir, 'dump.rdb');
  const redis = await LocalServer.create({ runId, storeName: 'redis' });
  try {
    const port = await freePort();
    const password = randomBytes(12).toString('hex');
    await writeFile(join(redis.dir, 'redis.conf'), `port ${port}\nbind 127.0.0.1\ndir ${redis.dir}\ndbfilename dump.rdb\nrequirepass ${password}\nsave ""\nappendonly no\n`);
    redis.start(await redisServerBinary({ engine: 'redis', restore: [{ artefact: '' }] }), [join(redis.dir, 'redis.conf')]);
    const endpoint = { host: '127.0.0.1', port, user: 'default', password };
    const client = await redis.waitReady('redis-server', () => redisClient(endpoint), signal);
    for (let i = 0; i < counts.sessions; i++) await client.sendCommand(['SET', `session:${i}`, `user${i % counts.users}`]);
    await client.sendCommand(['HSET', 'config:license', 'edition', 'enterprise', 'seats', '50']);
    await client.sendCommand(['SAVE']);
    await client.close();
    await copyFile(join(redis.dir, 'dump.rdb'), redisRdb);
  } finally {
    await redis.stop();
  }
  return { dir, mongoArchive, postgresDump, bucketMirror: mirror, redisRdb, baseline, counts, planted };
}
