// `npm test`: provisions the test bed (scripts/testbed up), type-checks, runs the whole mocha suite,
// then stops what the test bed started. Under CI=true a missing backend fails the suite.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const ci = process.env.CI === 'true';
const bin = (name: string) => join(root, 'node_modules/.bin', name);

function run(command: string, args: string[], options: { tee?: (text: string) => void } = {}): Promise<number> {
  return new Promise((resolve) => {
    // Suites written for the local runtime stay on it where a Docker engine answers (a CI runner);
    // the containers suites ask for their runtime explicitly.
    const env = { ...process.env, RESTOREPROOF_RUNTIME: process.env.RESTOREPROOF_RUNTIME ?? 'local' };
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', options.tee ? 'pipe' : 'inherit', 'inherit'] });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      process.stdout.write(d);
      options.tee?.(d);
    });
    child.once('error', (err) => {
      console.error(`${command}: ${err.message}`);
      resolve(127);
    });
    child.once('close', (code) => resolve(code ?? 1));
  });
}

const testbed = join(root, 'scripts/testbed');
const args = process.argv.slice(2);
let code = 0;
try {
  if (existsSync(testbed) && process.env.RESTOREPROOF_SKIP_TESTBED !== '1') {
    const up = await run(testbed, ['up']);
    if (up !== 0) {
      console.error(`scripts/testbed up exited with ${up}${ci ? '' : '; tests needing a missing backend will be skipped loudly'}`);
      if (ci) process.exit(up);
    }
  }
  const typecheck = await run(bin('tsc'), ['-p', 'tsconfig.json']);
  if (typecheck !== 0) {
    console.error('type check failed');
    code = typecheck;
  }
  let output = '';
  // Under CI nothing may be skipped: a skip there would hide a missing backend.
  const mocha = await run(bin('mocha'), [...(ci ? ['--forbid-pending'] : []), ...args], { tee: (t) => (output += t) });
  const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(output)?.[1] ?? 0);
  // The plain closing line CI systems read: "N passed, N failed".
  console.log(`tests: ${count('passing')} passed, ${count('failing')} failed, ${count('pending')} skipped`);
  code ||= mocha;
} finally {
  if (existsSync(testbed) && process.env.RESTOREPROOF_SKIP_TESTBED !== '1' && process.env.RESTOREPROOF_KEEP_TESTBED !== '1') await run(testbed, ['stop']);
}
process.exit(code);
