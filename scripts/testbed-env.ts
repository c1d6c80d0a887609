// `scripts/testbed env`: prints the shell exports that point restoreproof at the test bed.
import { existsSync, readFileSync } from 'node:fs';
import { renderTestbedExports } from './lib/testbed-env.ts';

const envFile = process.argv[2] ?? new URL('../.testbed/env.json', import.meta.url).pathname;
if (!existsSync(envFile)) {
  process.stderr.write(`${envFile} does not exist: run scripts/testbed up first\n`);
  process.exit(1);
}
process.stdout.write(renderTestbedExports(JSON.parse(readFileSync(envFile, 'utf8')), envFile, new URL('../drills/examples', import.meta.url).pathname));
