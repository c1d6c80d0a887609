// `npm test`: provisions the test bed (scripts/testbed up), type-checks, checks src/ for import cycles,
// runs the whole mocha suite, then stops what the test bed started. Under CI=true a missing backend fails the suite.
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
  const cycles = await run(process.execPath, [join(root, 'scripts/check-cycles.ts'), join(root, 'src')]);
  if (cycles !== 0) {
    console.error('import cycle check failed');
    code ||= cycles;
  }
  let output = '';
  // Under CI nothing may be skipped: a skip there would hide a missing backend.
  const strict = ci ? ['--forbid-pending'] : [];
  const mocha = await run(bin('mocha'), [...strict, ...args], { tee: (t) => (output += t) });
  code ||= mocha;
  // Then the kubernetes suites, on the test bed's cluster. They run after the rest because the
  // cluster's kubelet and the test bed's dockerd interfere on this kind of host (cgroup v1): with
  // the kubelet up, `docker top`/`exec` hung. Only when the whole suite runs (no mocha arguments).
  if (args.length === 0 && process.env.RESTOREPROOF_SKIP_KUBERNETES !== '1') {
    const up = existsSync(testbed) && process.env.RESTOREPROOF_SKIP_TESTBED !== '1' ? await run(testbed, ['up', 'kubernetes']) : 0;
    if (up !== 0) console.error(`scripts/testbed up kubernetes exited with ${up}${ci ? '' : '; the kubernetes suites will be skipped loudly'}`);
    const kubernetes = await run(bin('mocha'), [...strict, '--no-config', '--extension', 'ts', '--timeout', '600000', '--exit', 'test/kubernetes/*.test.ts'], { tee: (t) => (output += t) });
    code ||= kubernetes;
  } else if (args.length === 0) {
    console.log('kubernetes suites not run (RESTOREPROOF_SKIP_KUBERNETES=1)');
  }
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const count = (word: string) => [...plain.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\b`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  // The plain closing line CI systems read: "N passed, N failed".
  console.log(`tests: ${count('passing')} passed, ${count('failing')} failed, ${count('pending')} skipped`);
} finally {
  if (existsSync(testbed) && process.env.RESTOREPROOF_SKIP_TESTBED !== '1' && process.env.RESTOREPROOF_KEEP_TESTBED !== '1') await run(testbed, ['stop']);
}
process.exit(code);
