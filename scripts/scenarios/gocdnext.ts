// Scenario: a CI server (seed 003). PostgreSQL backed up with `pg_dump -F c` nightly; run artefacts
// and log archives in an S3/MinIO bucket synced to a dated prefix; the artefact metadata (path,
// SHA-256, size) lives in PostgreSQL; project secrets are AES-256-GCM encrypted with
// GOCDNEXT_SECRET_KEY (kept outside the backup); goose tracks the schema version. The database's
// baseline (counts and each table's content digest) is captured from the source at backup time with
// `restoreproof baseline capture --content`.
//
//   [GOCDNEXT_SECRET_KEY=<base64 32 bytes>] node scripts/scenarios/gocdnext.ts --out <dir> [--scale N] [--damage altered-artefact]
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { withSeedPostgres } from '../lib/seed.ts';
import { scenarioSecret } from '../lib/scenario-secret.ts';
import { repoRoot, restoreproofCli } from '../lib/restoreproof-cli.ts';

export const gocdnextSchemaVersion = 20260415120000;

/** The layout the drill's decrypt check declares: base64(nonce(12) | ciphertext | tag(16)). */
function seal(key: Buffer, plaintext: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, ct, cipher.getAuthTag()]).toString('base64');
}

export async function makeGocdnextScenario(options: { out: string; secretKey: Buffer; scale?: number; damage?: 'altered-artefact' }) {
  const scale = options.scale ?? 1;
  const date = '20261120';
  await rm(options.out, { recursive: true, force: true });
  // Two backup trees, as the runbook keeps them: nightly dumps and the bucket's dated sync.
  const day = join(options.out, 'postgres', date);
  await mkdir(day, { recursive: true });
  const runs = 30 * scale;
  const artefacts: { run: number; path: string; body: string; sha256: string }[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const name of ['log.txt', 'dist/app.tar']) {
      const body = name === 'log.txt' ? `run ${run}: build ok\nrun ${run}: tests ok\n` : `binary of run ${run} `.repeat(20);
      artefacts.push({ run, path: `runs/${run}/${name}`, body, sha256: createHash('sha256').update(body).digest('hex') });
    }
  }
  // The bucket as `aws s3 sync` / `mc mirror` leaves it in the dated prefix, plus one file nobody references.
  const bucket = join(options.out, 'artifacts', date);
  const altered = artefacts[5]!;
  for (const a of artefacts) {
    await mkdir(join(bucket, a.path, '..'), { recursive: true });
    await writeFile(join(bucket, a.path), options.damage === 'altered-artefact' && a === altered ? `${a.body}!` : a.body);
  }
  await mkdir(join(bucket, 'runs/orphaned'), { recursive: true });
  await writeFile(join(bucket, 'runs/orphaned/leftover.bin'), 'uploaded, then its run was deleted');

  await withSeedPostgres('gocdnext', options.out, ['gocdnext'], async ({ store: postgres, connect }) => {
    const db = await connect('gocdnext');
    await db.query('create table goose_db_version (id serial primary key, version_id bigint not null, is_applied boolean not null, tstamp timestamp default now())');
    for (const v of [0, 20251101090000, 20260210080000, gocdnextSchemaVersion]) await db.query('insert into goose_db_version (version_id, is_applied) values ($1, true)', [v]);
    await db.query('create table runs (id int primary key, pipeline text not null, status text not null, finished_at timestamptz not null)');
    await db.query("insert into runs select g, 'pipeline-' || (g % 4), 'passed', now() - interval '2 hours' + g * interval '1 minute' from generate_series(1, $1) g", [runs]);
    await db.query('create table artifacts (id serial primary key, run_id int not null references runs(id), path text not null unique, sha256 text not null, size bigint not null)');
    for (const a of artefacts) await db.query('insert into artifacts (run_id, path, sha256, size) values ($1, $2, $3, $4)', [a.run, a.path, a.sha256, Buffer.byteLength(a.body)]);
    await db.query('create table secrets (id serial primary key, project text not null, name text not null, value text not null)');
    for (let i = 0; i < 12; i++) await db.query('insert into secrets (project, name, value) values ($1, $2, $3)', [`project-${i % 3}`, `TOKEN_${i}`, seal(options.secretKey, `s3cr3t-value-${i}`)]);
    await db.end();
    const dump = await postgres.exec('pg_dump', ['-F', 'c', '--dbname', 'gocdnext', '--file', join(day, `gocdnext-${date}.dump`)]);
    if (dump.exitCode !== 0) throw new Error(`pg_dump: ${dump.stderr}`);
    const { user, password, port } = postgres.endpoint;
    restoreproofCli(['baseline', 'capture', join(repoRoot, 'drills/examples/gocdnext.yaml'), '--store', 'db', '--from', `postgres://${user}@127.0.0.1:${port}/gocdnext`, '--password-env', 'SCENARIO_PG_PASSWORD', '-o', join(options.out, 'baseline-db.json'), '--content'], { SCENARIO_PG_PASSWORD: password, GOCDNEXT_SECRET_KEY: options.secretKey.toString('base64') });
  });
  return { dir: options.out, runs, artefacts: artefacts.length, altered: altered.path, knownLog: 'runs/42/log.txt' };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, scale: { type: 'string' }, damage: { type: 'string' } } });
  const key = scenarioSecret('GOCDNEXT_SECRET_KEY', 'AES-256 key for the secrets table (base64 of 32 bytes)', () => randomBytes(32).toString('base64'));
  const out = values.out ?? join(repoRoot, 'drills/backups/gocdnext');
  const made = await makeGocdnextScenario({ out, secretKey: Buffer.from(key, 'base64'), scale: Number(values.scale ?? 1), ...(values.damage ? { damage: values.damage as 'altered-artefact' } : {}) });
  console.error(`gocdnext scenario in ${made.dir}: ${made.runs} runs, ${made.artefacts} artefacts`);
}
