// Scenario: a KOTS-installed secrets-detection platform with embedded datastores (seed 004).
// PostgreSQL backed up with `pg_dumpall | gzip` (roles and every database), Redis with BGSAVE
// (the RDB is what the backup keeps). The baseline (counts and each table's content digest) is
// captured from the source database at backup time with `restoreproof baseline capture --content`.
//
//   node scripts/scenarios/gitguardian.ts --out <dir> [--scale N] [--damage truncated-dump]
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { redisClient } from '../../src/engines/redis/client.ts';
import { newRunId } from '../../src/run/identity.ts';
import { redisServerBinary } from '../../src/engines/redis/local.ts';
import { freePort, LocalServer } from '../../src/runtimes/local/server.ts';
import { withSeedPostgres } from '../lib/seed.ts';
import { repoRoot, restoreproofCli } from '../lib/restoreproof-cli.ts';

export interface GitguardianOptions {
  out: string;
  scale?: number;
  damage?: 'truncated-dump';
}

export async function makeGitguardianScenario(options: GitguardianOptions) {
  const scale = options.scale ?? 1;
  await rm(options.out, { recursive: true, force: true });
  await mkdir(options.out, { recursive: true });
  const signal = new AbortController().signal;
  const runId = `${newRunId()}-scenario`;
  const counts = { incidents: 200 * scale, occurrences: 800 * scale, sessions: 30 * scale };

  const dump = join(options.out, 'pg_dumpall.sql.gz');
  await withSeedPostgres('gitguardian', options.out, [], async ({ store: postgres, connect }) => {
    const admin = await connect('postgres');
    await admin.query("create role gitguardian login password 'not-a-real-password'");
    await admin.query('create database gitguardian owner gitguardian');
    await admin.end();
    const db = await connect('gitguardian');
    await db.query('set role gitguardian');
    await db.query('create table incidents (id serial primary key, detector text not null, status text not null, created_at timestamptz not null)');
    await db.query('create table occurrences (id serial primary key, incident_id int not null references incidents(id), filepath text not null)');
    await db.query("insert into incidents (detector, status, created_at) select (array['aws_key','slack_token','private_key'])[1 + g % 3], (array['triggered','resolved'])[1 + g % 2], timestamptz '2026-11-01' + g * interval '5 minutes' from generate_series(1, $1) g", [counts.incidents]);
    await db.query("insert into occurrences (incident_id, filepath) select 1 + g % $2, 'src/file' || g || '.py' from generate_series(1, $1) g", [counts.occurrences, counts.incidents]);
    await db.end();
    const plain = join(options.out, 'pg_dumpall.sql');
    const run = await postgres.exec('pg_dumpall', ['--file', plain]);
    if (run.exitCode !== 0) throw new Error(`pg_dumpall: ${run.stderr}`);
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(dump));
    await rm(plain);
    const { user, password, port } = postgres.endpoint;
    restoreproofCli(['baseline', 'capture', join(repoRoot, 'drills/examples/gitguardian.yaml'), '--store', 'postgres', '--from', `postgres://${user}@127.0.0.1:${port}/gitguardian`, '--password-env', 'SCENARIO_PG_PASSWORD', '-o', join(options.out, 'baseline-postgres.json'), '--content'], { SCENARIO_PG_PASSWORD: password });
    if (options.damage === 'truncated-dump') await truncate(dump, Math.floor((await stat(dump)).size * 0.6));
  });

  const redis = await LocalServer.create({ runId, storeName: 'redis' });
  try {
    const port = await freePort();
    await writeFile(join(redis.dir, 'redis.conf'), `port ${port}\nbind 127.0.0.1\ndir ${redis.dir}\ndbfilename dump.rdb\nsave ""\nappendonly no\n`);
    redis.start(await redisServerBinary({ engine: 'redis', restore: [{ artefact: '' }] }), [join(redis.dir, 'redis.conf')]);
    const client = await redis.waitReady('redis-server', () => redisClient({ host: '127.0.0.1', port, user: 'default', password: '' }), signal);
    for (let i = 0; i < counts.sessions; i++) await client.sendCommand(['SET', `session:${i}`, `user-${i}`, 'EX', '86400']);
    await client.sendCommand(['LPUSH', 'queue:scans', 'scan-1', 'scan-2']);
    await client.sendCommand(['BGSAVE']);
    while (/rdb_bgsave_in_progress:1/.test(String(await client.sendCommand(['INFO', 'persistence'])))) await sleep(50);
    await client.close();
    await copyFile(join(redis.dir, 'dump.rdb'), join(options.out, 'dump.rdb'));
  } finally {
    await redis.stop();
  }
  return { dir: options.out, counts };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, scale: { type: 'string' }, damage: { type: 'string' } } });
  const out = values.out ?? join(repoRoot, 'drills/backups/gitguardian');
  const made = await makeGitguardianScenario({ out, scale: Number(values.scale ?? 1), ...(values.damage ? { damage: values.damage as 'truncated-dump' } : {}) });
  console.error(`gitguardian scenario in ${made.dir}: ${JSON.stringify(made.counts)}`);
}
