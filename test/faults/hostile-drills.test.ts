// Issue 14, deliverable 5: a hostile corpus of drill files, each run through the real CLI. Every input
// must end in exit 2 (or 1) with a located message and no stack trace; `run` must still write its report,
// and artefact bytes must not reach it. The corpus is generated here, in a temp dir, not committed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { clearErrorProblems, recordFault } from '../support/faults.ts';
import { processesMatching, runCli, type CliResult } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

/** Generous: a CLI still running after this is killed and the input fails as hung (no timed assertion). */
const hungAfterMs = 60_000;

interface HostileInput {
  name: string;
  /** Writes the input under `dir` and returns the path given to the CLI. */
  make: (dir: string) => Promise<string>;
  /** The message that locates the problem, over stderr and stdout. */
  located: (path: string) => RegExp;
  /** Run through `validate` (false for valid drills whose artefact is the attack). */
  validate?: boolean;
  /** Also through `run`. */
  run?: boolean;
  /** Variables the CLI gets. */
  env?: Record<string, string>;
  /** Strings that must appear nowhere in the run's reports (artefact bytes). */
  secrets?: () => string[];
}

const header = ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: hostile }', 'spec:', '  runtime: local'];
const drill = (...lines: string[]) => [...header, ...lines].join('\n') + '\n';
/** A valid store section (lines 6-11); `artefact` replaces a.dump. */
const store = (artefact = 'a.dump') => ['  stores:', '    app:', '      engine: postgres', '      restore:', `        - artefact: ${artefact}`, '          database: shop'];
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** file:line:col, at the given line (any line when omitted). */
const at = (line?: number, text = '') => (path: string) => new RegExp(`${escape(path)}:${line ?? '\\d+'}:\\d+: .*${text}`);
/** file:line:col of the first problem, then the rest counted on the last line. */
const counted = (line: number, more: string) => (path: string) => new RegExp(`${escape(path)}:${line}:\\d+: [^]*${escape(path)}: and ${more} more\n`);
const named = (text: string) => (path: string) => new RegExp(`${escape(path)}: ${text}`);
const file = (name: string, content: string | Buffer | (() => string | Buffer)) => async (dir: string) => {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'function' ? content() : content);
  return path;
};
/** Writes `size` bytes of `line`s without holding them in memory. */
const bigFile = (name: string, prefix: string, line: string, size: number) => async (dir: string) => {
  const path = join(dir, name);
  const out = createWriteStream(path);
  out.write(prefix);
  const chunk = line.repeat(Math.ceil((1 << 20) / line.length));
  for (let written = 0; written < size; written += chunk.length) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  return path;
};
const lines = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i)).join('\n');
const laughs = (open: string, close: string, item: (prev: string) => string) =>
  ['l0: &l0 "lol"', ...Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} ${open}${Array(9).fill(item(`*l${i}`)).join(', ')}${close}`)].join('\n');
const canary = `Q${randomBytes(16).toString('hex')}`;
const shadowLines = () => readFileSync('/etc/shadow', 'utf8').split('\n').filter((l) => l.length >= 8);

const corpus: HostileInput[] = [
  // Alias bombs: a config error at the alias, never an expansion.
  { name: 'alias bomb: billion laughs in sequences', make: file('laughs-seq.yaml', laughs('[', ']', (a) => a)), located: at(undefined, 'aliases expand too far'), run: true },
  { name: 'alias bomb: billion laughs in maps', make: file('laughs-map.yaml', laughs('{', '}', (a) => `k: ${a}`).replace(/k: /g, () => `k${randomBytes(3).toString('hex')}: `)), located: at(undefined, 'aliases expand too far') },
  { name: 'alias bomb: a doubling chain 40 deep', make: file('laughs-chain.yaml', ['a0: &a0 [x, x]', ...Array.from({ length: 40 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}, *a${i}]`)].join('\n')), located: at(undefined, 'aliases expand too far') },
  { name: 'alias bomb: one anchor aliased 20,000 times', make: file('laughs-wide.yaml', `a: &a [x]\nb: [${Array(20_000).fill('*a').join(', ')}]\n`), located: at(2, 'aliases expand too far') },
  { name: 'alias bomb: inside spec.checks', make: file('laughs-spec.yaml', drill(...store(), `  x: &x [${Array(9).fill('"c"').join(', ')}]`, `  y: &y [${Array(9).fill('*x').join(', ')}]`, `  z: &z [${Array(9).fill('*y').join(', ')}]`, `  checks: [${Array(9).fill('*z').join(', ')}]`)), located: at(undefined, 'aliases expand too far'), run: true },
  { name: 'alias as a key', make: file('alias-key.yaml', drill(...store(), '  k: &k name', '  *k : 1')), located: at(13, 'a key must be a plain string') },
  { name: 'alias to an undefined anchor', make: file('alias-undefined.yaml', drill(...store(), '  checks: *nope')), located: at(12) },
  // Floods: linear, at most 10 problems listed, the rest counted.
  { name: 'flood: 64,000 unknown keys', make: file('flood-keys.yaml', () => drill(...store(), lines(64_000, (i) => `  k${i}: 1`))), located: counted(12, '63,99\\d'), run: true },
  { name: 'flood: 64,000 unset variables', make: file('flood-vars.yaml', () => drill(...store(), '  checks:', lines(64_000, (i) => `    - \${UNSET_${i}}`))), located: counted(13, '63,99\\d') },
  { name: 'flood: 100,000 list items of the wrong type', make: file('flood-array.yaml', () => drill(...store(), `  checks: [${Array(100_000).fill('1').join(',')}]`)), located: at(12, 'a list of 100,000 items; a list may hold at most 1,000'), run: true },
  { name: 'flood: 20,000 stores of the wrong type', make: file('flood-stores.yaml', () => drill('  stores:', lines(20_000, (i) => `    s${i}: 1`))), located: counted(7, '19,99\\d') },
  { name: 'flood: 20,000 duplicate keys', make: file('flood-dupes.yaml', () => drill(...store(), lines(20_000, () => '  runtime: local'))), located: counted(12, '19,9\\d\\d') },
  // Size limits: refused before parsing, or at the value.
  { name: 'size: a 70 MB file', make: bigFile('70mb.yaml', drill(...store()), '  # padding padding padding padding padding padding padding\n', 70 << 20), located: named('the file is [\\d,]+ KiB; a drill may be at most'), run: true },
  { name: 'size: a 5 MB file', make: bigFile('5mb.yaml', drill(...store()), '# comment\n', 5 << 20), located: named('the file is [\\d,]+ KiB') },
  { name: 'size: a 50 MB single value', make: bigFile('50mb-value.yaml', drill(...store(), '  description: "'), 'x'.repeat(4096), 50 << 20), located: named('the file is [\\d,]+ KiB') },
  { name: 'size: a 2 MB single value', make: file('2mb-value.yaml', () => drill(...store(), `  x: ${'v'.repeat(2 << 20)}`)), located: at(12, 'a value of 2,097,152 characters'), run: true },
  { name: 'size: a 2 MB block scalar', make: file('2mb-block.yaml', () => drill(...store(), '  x: |', lines(40_000, () => `    ${'y'.repeat(50)}`))), located: at(12, 'a value of [\\d,]+ characters') },
  { name: 'size: a 1,000-character key', make: file('long-key.yaml', () => drill(...store(), `  ${'k'.repeat(1000)}: 1`)), located: at(12, 'a key of 1,000 characters') },
  { name: 'size: a 10,000-character key', make: file('longer-key.yaml', () => drill(...store(), `  ${'k'.repeat(10_000)}: 1`)), located: at(12, 'at most 1024 chars') },
  // Not regular files: refused without reading.
  { name: 'a FIFO', make: async (dir) => (execFileSync('mkfifo', [join(dir, 'fifo.yaml')]), join(dir, 'fifo.yaml')), located: named('not a regular file \\(a FIFO\\)'), run: true },
  { name: 'a symlink to a FIFO', make: async (dir) => (execFileSync('mkfifo', [join(dir, 'fifo2')]), await symlink(join(dir, 'fifo2'), join(dir, 'link.yaml')), join(dir, 'link.yaml')), located: named('not a regular file \\(a FIFO\\)') },
  { name: 'a directory', make: async (dir) => (await mkdir(join(dir, 'dir.yaml')), join(dir, 'dir.yaml')), located: named('not a regular file \\(a directory\\)'), run: true },
  { name: '/dev/zero', make: async () => '/dev/zero', located: named('not a regular file \\(a character device\\)'), run: true },
  { name: '/dev/null', make: async () => '/dev/null', located: named('not a regular file \\(a character device\\)') },
  { name: 'a missing file', make: async (dir) => join(dir, 'missing.yaml'), located: named('file not found') },
  // Bytes: UTF-8 only, located by line and byte offset.
  { name: 'invalid UTF-8 in a value', make: file('bad-utf8.yaml', Buffer.concat([Buffer.from(drill(...store()) + '  x: caf'), Buffer.from([0xe9]), Buffer.from('\n')])), located: at(12, 'not UTF-8: byte 0xe9 at byte offset \\d+'), run: true },
  { name: 'a truncated multi-byte sequence at the end', make: file('truncated-utf8.yaml', Buffer.concat([Buffer.from(drill(...store()) + '  x: '), Buffer.from([0xe2, 0x82])])), located: at(12, 'not UTF-8') },
  { name: 'an overlong encoding', make: file('overlong.yaml', Buffer.concat([Buffer.from(drill(...store()) + '  x: '), Buffer.from([0xc0, 0xaf, 0x0a])])), located: at(12, 'not UTF-8: byte 0xc0') },
  { name: 'an encoded surrogate', make: file('surrogate.yaml', Buffer.concat([Buffer.from('a: '), Buffer.from([0xed, 0xa0, 0x80, 0x0a])])), located: at(1, 'not UTF-8: byte 0xed at byte offset 3') },
  { name: 'UTF-16 with a byte-order mark', make: file('utf16.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(drill(...store()), 'utf16le')])), located: at(1, 'UTF-16 byte-order mark'), run: true },
  { name: 'Latin-1 text', make: file('latin1.yaml', Buffer.from(drill(...store(), '  x: naïve résumé'), 'latin1')), located: at(12, 'not UTF-8') },
  { name: 'a UTF-8 BOM before an error on line 12', make: file('bom.yaml', `\ufeff${drill(...store(), '  jbos: 2')}`), located: at(12, 'unknown key "jbos"') },
  { name: 'a NUL byte', make: file('nul.yaml', drill(...store(), '  x: a\0b')), located: at(12, 'control character U\\+0000'), run: true },
  { name: 'an escaped NUL in a quoted value', make: file('nul-escaped.yaml', drill(...store(), '  x: "a\\0b"')), located: at(12, 'NUL character') },
  { name: 'an escape control character', make: file('esc.yaml', drill(...store(), '  x: \x1b[31mred')), located: at(12, 'control character U\\+001B') },
  // Structure.
  { name: 'flow nesting 100,000 deep', make: file('deep-flow.yaml', () => `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`), located: at(1, 'nested more than 64 deep'), run: true },
  { name: 'block nesting 1,500 deep', make: file('deep-block.yaml', () => lines(1500, (i) => `${' '.repeat(i)}k:`) + ' 1\n'), located: at() },
  { name: 'mixed nesting: maps in flow sequences', make: file('deep-mixed.yaml', () => `a: ${'[{k: '.repeat(50)}1${'}]'.repeat(50)}\n`), located: at(1, 'nested more than 64 deep') },
  { name: 'duplicate keys', make: file('dupe.yaml', drill(...store(), ...store().slice(1))), located: at(12, 'duplicate key "app"'), run: true },
  { name: 'duplicate top-level spec', make: file('dupe-spec.yaml', drill(...store(), 'spec: {}')), located: at(12, 'duplicate key "spec"') },
  { name: 'wrong types at many paths', make: file('types.yaml', drill('  stores:', '    app:', '      engine: 7', '      restore: "no"', '  checks: {}', '  report: 3')), located: at(8), run: true },
  { name: 'unknown key', make: file('unknown.yaml', drill(...store(), '          jbos: 2')), located: at(12, 'unknown key "jbos"'), run: true },
  { name: 'two documents', make: file('two-docs.yaml', `${drill(...store())}---\n${drill(...store())}`), located: at(12) },
  { name: 'an empty file', make: file('empty.yaml', ''), located: at(1, 'must be object') },
  { name: 'a scalar root', make: file('scalar.yaml', 'just a string\n'), located: at(1, 'must be object') },
  { name: 'a sequence root', make: file('seq.yaml', '- a\n- b\n'), located: at(1, 'must be object') },
  { name: 'tab indentation', make: file('tabs.yaml', drill(...store(), '\tchecks: []')), located: at(12) },
  { name: 'an unterminated quote', make: file('quote.yaml', drill(...store(), '  x: "never closed')), located: at(13, 'Missing closing') },
  { name: 'a custom tag', make: file('tag.yaml', drill(...store(), '  checks: !!js/function "function () { return 1 }"')), located: at(12) },
  // Interpolation.
  { name: 'an unset variable', make: file('unset.yaml', drill(...store('${RESTOREPROOF_HOSTILE_UNSET}'))), located: at(10, 'RESTOREPROOF_HOSTILE_UNSET is not set'), run: true },
  { name: 'a ${} loop is expanded once', make: file('loop.yaml', drill(...store(), '          jobs: ${LOOP_A}')), env: { LOOP_A: '${LOOP_B}', LOOP_B: '${LOOP_A}' }, located: at(12, 'must be integer') },
  { name: 'an empty ${}', make: file('empty-var.yaml', drill(...store(), '          jobs: ${}')), located: at(12, 'must be integer') },
  // Artefacts: the drill is valid; the artefact is the attack. Its bytes must not reach the report.
  { name: 'artefact /etc/shadow', validate: false, run: true, make: file('shadow.yaml', drill(...store('/etc/shadow'))), located: () => /\/etc\/shadow/, secrets: shadowLines },
  { name: 'artefact /proc/self/environ', validate: false, run: true, make: file('environ.yaml', drill(...store('/proc/self/environ'))), located: () => /\/proc\/self\/environ/, env: { RESTOREPROOF_HOSTILE_CANARY: canary }, secrets: () => [canary] },
  { name: 'artefact /dev/zero', validate: false, run: true, make: file('artefact-zero.yaml', drill(...store('/dev/zero'))), located: () => /\/dev\/zero.* not a regular file/ },
  { name: 'artefact whose first line is a secret', validate: false, run: true, make: async (dir) => (await writeFile(join(dir, 'secret.sql'), `${canary}\ncreate table t(id int);\n`), file('secret.yaml', drill(...store('secret.sql')))(dir)), located: () => /secret\.sql/, secrets: () => [canary] },
];

/** The run's report and its other files, as text. */
async function reportTexts(reportDir: string): Promise<string[]> {
  const files = (await readdir(reportDir, { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
  return Promise.all(files.map((f) => readFile(join(f.parentPath, f.name), 'utf8')));
}

describe('faults: hostile drills', function () {
  let dir: string;
  const slowest = { ms: 0, name: '' };
  const timed = async (name: string, run: () => Promise<CliResult>) => {
    const t0 = performance.now();
    const result = await run();
    const ms = performance.now() - t0;
    if (ms > slowest.ms) Object.assign(slowest, { ms, name });
    return result;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-hostile-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    console.log(`\n  hostile corpus: ${corpus.length} inputs; slowest CLI call ${(slowest.ms / 1000).toFixed(1)} s (${slowest.name})`);
  });

  it('holds at least 40 inputs', () => {
    assert.ok(corpus.length >= 40, `${corpus.length} inputs`);
  });

  for (const input of corpus) {
    if (input.validate !== false) {
      it(`validate: ${input.name}`, async () => {
        const path = await input.make(await mkdtemp(join(dir, 'in-')));
        const result = await timed(`validate: ${input.name}`, () => runCli(['validate', path], { killAfterMs: hungAfterMs, ...(input.env ? { env: input.env } : {}) }));
        const problems = clearErrorProblems(result, { exitCodes: [2], located: input.located(path) });
        if (result.stderr.split('\n').length > 12) problems.push(`more than 11 lines of problems: ${result.stderr.split('\n').length}`);
        recordFault('hostile drill: validate', { clearError: problems.length === 0 });
        assert.deepEqual(problems, []);
      });
    }
    if (!input.run) continue;
    it(`run: ${input.name}`, async function () {
      if (input.secrets) {
        requireBackends(this, 'postgres');
        useTestbedBinaries();
      }
      const work = await mkdtemp(join(dir, 'in-'));
      const path = await input.make(work);
      const reportDir = join(work, 'reports');
      const result = await timed(`run: ${input.name}`, () => runCli(['run', path, '--report-dir', reportDir], { killAfterMs: hungAfterMs, ...(input.env ? { env: input.env } : {}) }));
      const problems = clearErrorProblems(result, { exitCodes: [2, 1], located: input.located(path) });
      const texts = await reportTexts(reportDir).catch(() => []);
      if (!texts.length) problems.push('no report written');
      for (const secret of input.secrets?.() ?? []) {
        if ([...texts, result.stderr, result.stdout].some((t) => t.includes(secret))) problems.push(`artefact bytes reached the report or the output: ${secret.slice(0, 6)}…`);
      }
      // What the run left behind: server processes and temp dirs carry its run id.
      const runId = /restoreproof run (\S+):/.exec(result.stderr)?.[1];
      const leftovers = runId ? (await runDirsNamed(`restoreproof-${runId}`)).length + (await processesMatching(`restoreproof-${runId}`)).length : 0;
      if (!runId) problems.push('no run id printed');
      if (leftovers) problems.push(`${leftovers} leftovers`);
      recordFault('hostile drill: run', { clearError: problems.length === 0, leftovers });
      assert.deepEqual(problems, []);
    });
  }

  it('validate: SIGINT while a large drill is validated exits 130 at once', async () => {
    const work = await mkdtemp(join(dir, 'in-'));
    const make = corpus.find((c) => c.name.startsWith('flood: 64,000 unknown'))!.make;
    const paths = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map(async (n) => (await mkdir(join(work, n)), make(join(work, n)))));
    let interrupted = false;
    const result = await runCli(['validate', ...paths], {
      killAfterMs: hungAfterMs,
      // Interrupt once the first drill has been reported: the others are still to come.
      onStderr: (text, child) => {
        if (!interrupted && text.includes(' more\n')) interrupted = child.kill('SIGINT');
      },
    });
    const problems = result.hung ? ['hung after SIGINT'] : result.code === 130 ? [] : [`exit ${result.code}, expected 130`];
    if ((result.stderr.match(/ more$/gm) ?? []).length >= paths.length) problems.push('every drill was validated: the interrupt was not heard');
    if (/^\s+at /m.test(result.stderr)) problems.push('a stack trace');
    recordFault('hostile drill: interrupted validate', { clearError: problems.length === 0 });
    assert.deepEqual(problems, []);
  });
});
