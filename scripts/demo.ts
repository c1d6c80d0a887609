// `npm run demo`: installs PostgreSQL if needed, makes the demo backups with the real pg_dump, runs drills/demo.yaml.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli.ts';
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
process.exitCode = await main(['run', 'drills/demo.yaml', ...process.argv.slice(2).filter((a) => a !== '--fresh')]);
