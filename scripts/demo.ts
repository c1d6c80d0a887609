// `npm run demo`: installs PostgreSQL if needed, makes the demo backups with the real pg_dump, runs drills/demo.yaml.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../src/cli.ts';
import { generateSigningKey } from '../src/evidence/dsse.ts';
import { ensurePostgres } from './lib/ensure-postgres.ts';
import { makeDemoBackups } from './lib/demo-backups.ts';

const root = new URL('..', import.meta.url).pathname;
const backups = join(root, 'drills/backups/demo');
process.chdir(root);
await ensurePostgres(process.env.RESTOREPROOF_DEMO_PG_VERSION ?? '15');
if (process.argv.includes('--fresh') || !existsSync(join(backups, 'baseline.json'))) {
  console.error(`making demo backups in ${backups} …`);
  await makeDemoBackups(backups);
}
const signingKey = join(backups, 'signing.key');
if (!existsSync(signingKey)) {
  const { keyId } = await generateSigningKey(signingKey);
  console.error(`made the demo signing key ${signingKey} (key id ${keyId})`);
}
const args = process.argv.slice(2).filter((a) => a !== '--fresh');
process.exitCode = await main(['run', 'drills/demo.yaml', ...args]);
// The evidence is signed: check it as an auditor would.
const reportDir = args.includes('--report-dir') ? args[args.indexOf('--report-dir') + 1]! : 'reports';
const envelope = (await readdir(reportDir)).filter((f) => f.endsWith('.dsse.json') && !f.includes('.review-')).sort().at(-1);
if (envelope) {
  console.error(`\n$ restoreproof verify ${join(reportDir, envelope)} --key ${signingKey.slice(root.length)}.pub`);
  const verified = await main(['verify', join(reportDir, envelope), '--key', `${signingKey}.pub`]);
  if (verified !== 0 && process.exitCode === 0) process.exitCode = verified;
}
