// Scenario: a Helm "dependencies" chart (seed 002) that backs up each datastore nightly as an
// encrypted archive, `<store>_backup_<date>.tar.gz.enc`, in one folder per date on a backup server:
// tar -czf of the dump, then `openssl enc -aes-256-cbc -pbkdf2`, with a sha256sum sidecar.
// Two nights are written; the drill must pick the newest. After each night's dumps the backup job
// captures a content baseline of MongoDB and PostgreSQL (`restoreproof baseline capture --content`)
// next to the dated folders, so the baselines are always the newest night's.
//
//   [OPENCRVS_BACKUP_PASSPHRASE=...] node scripts/scenarios/opencrvs.ts --out <dir> [--scale N]
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { newRunId } from '../../src/run/identity.ts';
import { startLocalMongo } from '../../src/engines/mongodb/local.ts';
import { datedBackup } from '../lib/backup-tools.ts';
import { withSeedPostgres } from '../lib/seed.ts';
import { repoRoot, restoreproofCli } from '../lib/restoreproof-cli.ts';
import { scenarioSecret } from '../lib/scenario-secret.ts';

export const opencrvsDates = ['2026-11-19', '2026-11-20'] as const;

export async function makeOpencrvsScenario(options: { out: string; passphrase: string; scale?: number }) {
  const scale = options.scale ?? 1;
  await rm(options.out, { recursive: true, force: true });
  const work = join(options.out, '.work');
  await mkdir(work, { recursive: true });
  const signal = new AbortController().signal;
  const runId = `${newRunId()}-scenario`;
  const drill = join(repoRoot, 'drills/examples/opencrvs.yaml');
  const counts: Record<string, { records: number; events: number; files: number }> = {};

  for (const [night, date] of opencrvsDates.entries()) {
    // Each night holds a little more: the drill proves it restored the newest one.
    const c = { records: (100 + night * 10) * scale, events: (300 + night * 30) * scale, files: (20 + night * 2) * scale };
    counts[date] = c;

    const mongo = await startLocalMongo({ runId, drillName: 'opencrvs', storeName: 'mongo', spec: { engine: 'mongodb', restore: [] }, drillDir: work, signal });
    try {
      const client = new MongoClient(mongo.url(), { directConnection: true });
      await client.connect();
      await client.db('hearth').collection('records').insertMany(Array.from({ length: c.records }, (_, i) => ({ tracking: `B${String(i).padStart(7, '0')}`, type: i % 2 ? 'birth' : 'death' })));
      await client.close();
      const archive = join(work, 'mongo.archive.gz');
      const dump = await mongo.exec('mongodump', [`--uri=${mongo.url()}`, '--db=hearth', `--archive=${archive}`, '--gzip']);
      if (dump.exitCode !== 0) throw new Error(`mongodump: ${dump.stderr}`);
      await datedBackup(options.out, date, 'mongo', 'hearth.archive.gz', archive, options.passphrase);
      restoreproofCli(['baseline', 'capture', drill, '--store', 'mongo', '--from', `${mongo.url()}hearth`, '-o', join(options.out, 'baseline-mongo.json'), '--content']);
    } finally {
      await mongo.stop();
    }

    await withSeedPostgres('opencrvs', work, ['events'], async ({ store: postgres, connect }) => {
      const db = await connect('events');
      await db.query('create table event_log (id serial primary key, record text not null, action text not null, at timestamptz not null)');
      await db.query("insert into event_log (record, action, at) select 'B' || lpad((g % 100)::text, 7, '0'), 'registered', timestamptz '2026-11-01' + g * interval '1 minute' from generate_series(1, $1) g", [c.events]);
      await db.end();
      const file = join(work, 'events.dump');
      const dump = await postgres.exec('pg_dump', ['-Fc', '--dbname', 'events', '--file', file]);
      if (dump.exitCode !== 0) throw new Error(`pg_dump: ${dump.stderr}`);
      await datedBackup(options.out, date, 'postgres', 'events.dump', file, options.passphrase);
      const { user, password, port } = postgres.endpoint;
      restoreproofCli(['baseline', 'capture', drill, '--store', 'postgres', '--from', `postgres://${user}@127.0.0.1:${port}/events`, '--password-env', 'SCENARIO_PG_PASSWORD', '-o', join(options.out, 'baseline-postgres.json'), '--content'], { SCENARIO_PG_PASSWORD: password });
    });

    // MinIO: the "dump" mode archives a filesystem copy of the bucket.
    const copy = join(work, 'minio');
    await rm(copy, { recursive: true, force: true });
    for (let i = 0; i < c.files; i++) {
      await mkdir(join(copy, 'attachments', String(i % 4)), { recursive: true });
      await writeFile(join(copy, 'attachments', String(i % 4), `doc-${i}.pdf`), `%PDF-1.4 document ${i} of ${date}`);
    }
    await datedBackup(options.out, date, 'minio', 'minio', copy, options.passphrase);
  }
  await rm(work, { recursive: true, force: true });
  return { dir: options.out, counts, newest: opencrvsDates.at(-1)! };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, scale: { type: 'string' } } });
  const passphrase = scenarioSecret('OPENCRVS_BACKUP_PASSPHRASE', 'passphrase for the encrypted archives');
  const out = values.out ?? new URL('../../drills/backups/opencrvs', import.meta.url).pathname;
  const made = await makeOpencrvsScenario({ out, passphrase, scale: Number(values.scale ?? 1) });
  console.error(`opencrvs scenario in ${made.dir}: ${JSON.stringify(made.counts)}`);
}
