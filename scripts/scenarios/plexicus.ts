// Scenario: a security platform on Helm (seed 000). MongoDB (Users, Scans, Findings) backed up with
// `mongodump --gzip --archive`, Temporal's two PostgreSQL databases with `pg_dump -Fc` each, and
// the platform bucket mirrored into a dated prefix (`mc mirror local/platform backup/<date>/`).
// Baselines are captured from the sources at backup time with `restoreproof baseline capture`.
//
//   node scripts/scenarios/plexicus.ts --out <dir> [--scale N] [--damage missing-object]
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { newRunId } from '../../src/run/identity.ts';
import { startLocalMongo } from '../../src/engines/mongodb/local.ts';
import { withSeedPostgres } from '../lib/seed.ts';
import { repoRoot, restoreproofCli } from '../lib/restoreproof-cli.ts';

export interface PlexicusOptions {
  out: string;
  scale?: number;
  damage?: 'missing-object';
  /** Backup date folder, YYYYMMDD. */
  date?: string;
}

export async function makePlexicusScenario(options: PlexicusOptions) {
  const scale = options.scale ?? 1;
  const date = options.date ?? '20261120';
  const day = join(options.out, date);
  await rm(options.out, { recursive: true, force: true });
  await mkdir(day, { recursive: true });
  const signal = new AbortController().signal;
  const runId = `${newRunId()}-scenario`;
  const counts = { Users: 20 * scale, Scans: 50 * scale, Findings: 300 * scale };
  const objects = Array.from({ length: counts.Scans }, (_, i) => {
    const body = Buffer.from(JSON.stringify({ scan: i + 1, sarif: { runs: [{ results: (i * 7) % 11 }] } }));
    return { key: `scans/${i + 1}/results.sarif.json`, body, sha256: createHash('sha256').update(body).digest('hex') };
  });

  // The bucket as mc mirror leaves it: <backup-bucket>/<date>/<key>.
  const mirror = join(day, 'platform');
  for (const [i, o] of objects.entries()) {
    if (options.damage === 'missing-object' && i === counts.Scans - 1) continue; // the upload that never made it
    await mkdir(join(mirror, o.key, '..'), { recursive: true });
    await writeFile(join(mirror, o.key), o.body);
  }

  const drill = join(repoRoot, 'drills/examples/plexicus.yaml');
  const mongo = await startLocalMongo({ runId, drillName: 'plexicus', storeName: 'mongo', spec: { engine: 'mongodb', restore: [] }, drillDir: day, signal });
  try {
    const client = new MongoClient(mongo.url(), { directConnection: true });
    await client.connect();
    const db = client.db('plexicus');
    await db.collection('Users').insertMany(Array.from({ length: counts.Users }, (_, i) => ({ email: `analyst${i}@example.com`, role: i === 0 ? 'owner' : 'analyst' })));
    await db.collection('Scans').insertMany(objects.map((o, i) => ({ scanId: i + 1, repository: `repo-${i % 7}`, status: 'completed', resultsKey: o.key, resultsSha256: o.sha256 })));
    await db.collection('Findings').insertMany(Array.from({ length: counts.Findings }, (_, i) => ({ scanId: 1 + (i % counts.Scans), severity: ['low', 'medium', 'high', 'critical'][i % 4], rule: `R${i % 40}` })));
    await client.close();
    const dump = await mongo.exec('mongodump', [`--uri=${mongo.url()}`, '--db=plexicus', `--archive=${join(day, 'mongodb.archive.gz')}`, '--gzip']);
    if (dump.exitCode !== 0) throw new Error(`mongodump: ${dump.stderr}`);
    restoreproofCli(['baseline', 'capture', drill, '--store', 'mongodb', '--from', `${mongo.url()}plexicus`, '-o', join(options.out, 'baseline-mongodb.json'), '--content']);
  } finally {
    await mongo.stop();
  }

  await withSeedPostgres('plexicus', day, ['temporal', 'temporal_visibility'], async ({ store: temporal, connect }) => {
    const t = await connect('temporal');
    await t.query('create table executions (namespace_id uuid not null, workflow_id text not null, run_id uuid not null, state int not null, primary key (namespace_id, workflow_id, run_id))');
    await t.query('create table history_node (tree_id uuid not null, branch_id uuid not null, node_id bigint not null, data bytea not null, primary key (tree_id, branch_id, node_id))');
    await t.query(`insert into executions select '00000000-0000-0000-0000-000000000001', 'scan-' || g, md5(g::text)::uuid, g % 3 from generate_series(1, $1) g`, [counts.Scans]);
    await t.query(`insert into history_node select md5(g::text)::uuid, md5((g+1)::text)::uuid, n, decode(md5(g::text || n), 'hex') from generate_series(1, $1) g, generate_series(1, 5) n`, [counts.Scans]);
    await t.end();
    const v = await connect('temporal_visibility');
    await v.query("create table executions_visibility (namespace_id uuid not null, run_id uuid primary key, workflow_type_name text not null, status int not null, close_time timestamptz)");
    await v.query(`insert into executions_visibility select '00000000-0000-0000-0000-000000000001', md5(g::text)::uuid, 'ScanWorkflow', 2, timestamptz '2026-11-20 01:00' + g * interval '1 minute' from generate_series(1, $1) g`, [counts.Scans]);
    await v.end();
    for (const name of ['temporal', 'temporal_visibility']) {
      const dump = await temporal.exec('pg_dump', ['-Fc', '--dbname', name, '--file', join(day, `${name}-${date}.dump`)]);
      if (dump.exitCode !== 0) throw new Error(`pg_dump ${name}: ${dump.stderr}`);
    }
    const { user, password, port } = temporal.endpoint;
    for (const [name, file] of [['temporal', 'baseline-temporal.json'], ['temporal_visibility', 'baseline-temporal-visibility.json']] as const) {
      restoreproofCli(['baseline', 'capture', drill, '--store', 'temporal', '--from', `postgres://${user}@127.0.0.1:${port}/${name}`, '--password-env', 'SCENARIO_PG_PASSWORD', '-o', join(options.out, file), '--content'], { SCENARIO_PG_PASSWORD: password });
    }
  });
  return { dir: options.out, date, counts };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, scale: { type: 'string' }, damage: { type: 'string' }, date: { type: 'string' } } });
  const out = values.out ?? join(repoRoot, 'drills/backups/plexicus');
  const made = await makePlexicusScenario({ out, scale: Number(values.scale ?? 1), ...(values.damage ? { damage: values.damage as 'missing-object' } : {}), ...(values.date ? { date: values.date } : {}) });
  console.error(`plexicus scenario in ${made.dir} (${made.date}): ${JSON.stringify(made.counts)}`);
}
