// `npm run bench -- <scenario> [options]`: runs bench/<scenario>.ts. Benchmarks print
// `name value unit` lines and write reports/bench/<scenario>.json; they never assert on time.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
const scenarios = readdirSync(dir).filter((f) => f.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(f)).map((f) => f.replace(/\.ts$/, ''));
const [scenario, ...args] = process.argv.slice(2);
if (!scenario || !existsSync(join(dir, `${scenario}.ts`))) {
  console.error(`usage: npm run bench -- <scenario> [options]\nscenarios: ${scenarios.join(', ')}`);
  process.exit(2);
}
const child = spawn(process.execPath, [join(dir, `${scenario}.ts`), ...args], { stdio: 'inherit' });
child.once('close', (code) => process.exit(code ?? 1));
