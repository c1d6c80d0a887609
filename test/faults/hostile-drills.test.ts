// Issue 14, deliverable 5: a hostile corpus of drill files, each run through the real CLI. Every input
// must end in exit 2 (or 1) with a located message and no stack trace; a run must still write its report.
// The corpus is generated here, in a temp dir, not committed.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearErrorProblems, recordFault } from '../support/faults.ts';
import { runCli } from '../support/fixtures.ts';

/** Generous: a CLI still running after this is killed and the input fails as hung. */
const hungAfterMs = 60_000;

const header = ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: hostile }', 'spec:'];
const store = ['  stores:', '    app:', '      engine: postgres', '      restore:', '        - artefact: a.dump', '          database: shop'];

interface HostileInput {
  name: string;
  /** Writes the input under `dir` and returns the path given to the CLI. */
  make: (dir: string) => Promise<string>;
  /** What the message must contain to count as located (a regexp over stderr and stdout). */
  located: (path: string) => RegExp;
  /** Also `run` it (inputs that get past the loader's first checks). */
  run?: boolean;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const at = (line: number) => (path: string) => new RegExp(`${escape(path)}:${line}:\\d+: `);
const file = (name: string, text: string | Buffer) => async (dir: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};
const drill = (...lines: string[]) => [...header, ...lines].join('\n');

const corpus: HostileInput[] = [
  { name: 'wrong types at many paths', make: file('types.yaml', drill('  stores:', '    app:', '      engine: 7', '      restore: "no"', '  checks: {}')), located: at(7), run: true },
  { name: 'duplicate keys', make: file('dupe.yaml', drill(...store, ...store.slice(1))), located: at(11), run: true },
  { name: 'unknown key', make: file('unknown.yaml', drill(...store, '          jbos: 2')), located: at(11), run: true },
];

describe('faults: hostile drills', function () {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-hostile-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const input of corpus) {
    it(`validate: ${input.name}`, async () => {
      const path = await input.make(dir);
      const result = await runCli(['validate', path], { killAfterMs: hungAfterMs });
      const problems = clearErrorProblems(result, { exitCodes: [2], located: input.located(path) });
      recordFault('hostile drill: validate', { clearError: problems.length === 0 });
      assert.deepEqual(problems, []);
    });
    if (!input.run) continue;
    it(`run: ${input.name}`, async () => {
      const path = await input.make(dir);
      const reportDir = await mkdtemp(join(dir, 'reports-'));
      const result = await runCli(['run', path, '--report-dir', reportDir], { killAfterMs: hungAfterMs });
      const problems = clearErrorProblems(result, { exitCodes: [2, 1], located: input.located(path) });
      const reports = (await readdir(reportDir)).filter((f) => f.endsWith('.json'));
      if (reports.length === 0) problems.push('no report written');
      recordFault('hostile drill: run', { clearError: problems.length === 0 });
      assert.deepEqual(problems, []);
    });
  }
});
