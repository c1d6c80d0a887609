// Scenario: an enterprise app on an external PostgreSQL (seed 001). The database is backed up with
// `pg_dump --format=custom --compress=9` to a timestamped .pgdump; the CLI backup of config, tools
// and the knowledge store is a tar.gz anchored by a MANIFEST.json. The audit_logs table carries an
// HMAC chain the application computes: mac = HMAC-SHA256(key, prev_mac|id|actor|action|created_at).
//
//   [ALEXANDRIA_AUDIT_KEY=...] node scripts/scenarios/alexandria.ts --out <dir> [--scale N] [--damage tampered-audit-row]
import { createHash, createHmac } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sh } from '../lib/backup-tools.ts';
import { withSeedPostgres } from '../lib/seed.ts';
import { scenarioSecret } from '../lib/scenario-secret.ts';

export const alexandriaStamp = '20261120T010000';

export async function makeAlexandriaScenario(options: { out: string; auditKey: string; scale?: number; damage?: 'tampered-audit-row' }) {
  const scale = options.scale ?? 1;
  await rm(options.out, { recursive: true, force: true });
  await mkdir(options.out, { recursive: true });
  const rows = 200 * scale;
  const tamperedSeq = Math.floor(rows / 2);
  await withSeedPostgres('alexandria', options.out, ['alexandria'], async ({ store: postgres, connect }) => {
    const db = await connect('alexandria');
    await db.query('create table license (id serial primary key, customer text not null, edition text not null, seats int not null, expires_at date not null)');
    await db.query("insert into license (customer, edition, seats, expires_at) values ('ACME Corp', 'enterprise', 250, '2027-06-30')");
    await db.query('create table audit_logs (seq bigint primary key, id text not null, actor text not null, action text not null, created_at timestamptz not null, prev_mac text not null, mac text not null)');
    let prev = '';
    for (let seq = 1; seq <= rows; seq++) {
      const id = `evt-${String(seq).padStart(6, '0')}`;
      const actor = `user${seq % 9}@acme.example`;
      const action = ['login', 'query', 'export', 'settings.update'][seq % 4]!;
      const createdAt = new Date(Date.UTC(2026, 10, 1) + seq * 60_000);
      const mac = createHmac('sha256', options.auditKey).update(`${prev}|${id}|${actor}|${action}|${createdAt.toISOString()}`).digest('hex');
      // The twin: someone edited one row after the fact (its MAC no longer matches).
      const stored = options.damage === 'tampered-audit-row' && seq === tamperedSeq ? 'export.all' : action;
      await db.query('insert into audit_logs values ($1, $2, $3, $4, $5, $6, $7)', [seq, id, actor, stored, createdAt, prev, mac]);
      prev = mac;
    }
    await db.end();
    const dump = await postgres.exec('pg_dump', ['--format=custom', '--compress=9', '--dbname', 'alexandria', '--file', join(options.out, `alexandria-ee-${alexandriaStamp}.pgdump`)]);
    if (dump.exitCode !== 0) throw new Error(`pg_dump: ${dump.stderr}`);
  });

  // The CLI backup: config, tools and the knowledge store, anchored by MANIFEST.json.
  const bundle = join(options.out, '.bundle');
  const files: Record<string, string> = {
    'config/alexandria.yaml': 'server:\n  port: 8080\nllm:\n  provider: local\n',
    'tools/search.json': JSON.stringify({ name: 'search', version: 3 }),
    ...Object.fromEntries(Array.from({ length: 5 * scale }, (_, i) => [`knowledge/doc-${i}.md`, `# Document ${i}\n\nKnowledge entry ${i}.\n`])),
  };
  const manifest: { path: string; size: number; sha256: string }[] = [];
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(bundle, path, '..'), { recursive: true });
    await writeFile(join(bundle, path), content);
    manifest.push({ path, size: Buffer.byteLength(content), sha256: createHash('sha256').update(content).digest('hex') });
  }
  await writeFile(join(bundle, 'MANIFEST.json'), JSON.stringify({ createdAt: '2026-11-20T01:00:00Z', files: manifest }, null, 2));
  await sh('tar', ['-czf', join(options.out, 'alexandria-backup-2026-11-20.tar.gz'), '-C', bundle, '.']);
  await rm(bundle, { recursive: true, force: true });
  return { dir: options.out, rows, tamperedSeq, files: Object.keys(files).length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, scale: { type: 'string' }, damage: { type: 'string' } } });
  const auditKey = scenarioSecret('ALEXANDRIA_AUDIT_KEY', 'HMAC key for the audit chain');
  const out = values.out ?? new URL('../../drills/backups/alexandria', import.meta.url).pathname;
  const made = await makeAlexandriaScenario({ out, auditKey, scale: Number(values.scale ?? 1), ...(values.damage ? { damage: values.damage as 'tampered-audit-row' } : {}) });
  console.error(`alexandria scenario in ${made.dir}: ${made.rows} audit rows, ${made.files} bundle files`);
}
