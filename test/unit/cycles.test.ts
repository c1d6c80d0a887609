import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = new URL('../..', import.meta.url).pathname;
const script = join(root, 'scripts/check-cycles.ts');

/** Runs the cycle check `npm test` runs, over `folder`; its exit code and output. */
async function checkCycles(folder: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, folder], { cwd: root });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('import cycle check (npm test)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-cycles-'));
    await mkdir(join(dir, 'engines'));
    await writeFile(join(dir, 'leaf.ts'), 'export const leaf = 1;\n');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('passes on src/ with no cycle', async () => {
    const { code, output } = await checkCycles(join(root, 'src'));
    assert.equal(code, 0, output);
    assert.match(output, /import cycles in src: 0/);
  });

  it('fails naming the files when two modules import each other', async () => {
    await writeFile(join(dir, 'engines/a.ts'), "import { b } from '../b.ts';\nimport { leaf } from '../leaf.ts';\nexport const a = () => b() + leaf;\n");
    await writeFile(join(dir, 'b.ts'), "import { a } from './engines/a.ts';\nexport const b = () => 1;\nexport const c = () => a();\n");
    const { code, output } = await checkCycles(dir);
    assert.equal(code, 1, output);
    assert.match(output, /import cycles in \S+: 1\n {2}(engines\/a\.ts -> b\.ts -> engines\/a\.ts|b\.ts -> engines\/a\.ts -> b\.ts)\n/);
    assert.doesNotMatch(output, /leaf\.ts/);
  });

  it('counts a cycle made only of type imports, and one through a dynamic import', async () => {
    await writeFile(join(dir, 'types.ts'), "import type { Engine } from './engines/types.ts';\nexport interface Runtime { engines: Engine[] }\n");
    await writeFile(join(dir, 'engines/types.ts'), "import type { Runtime } from '../types.ts';\nexport interface Engine { runtime: Runtime }\n");
    await writeFile(join(dir, 'lazy.ts'), "export const load = () => import('./late.ts');\n");
    await writeFile(join(dir, 'late.ts'), "import { load } from './lazy.ts';\nexport const again = load;\n");
    const { code, output } = await checkCycles(dir);
    assert.equal(code, 1, output);
    assert.match(output, /import cycles in \S+: 2\n/);
    assert.match(output, /types\.ts -> engines\/types\.ts -> types\.ts|engines\/types\.ts -> types\.ts -> engines\/types\.ts/);
    assert.match(output, /lazy\.ts -> late\.ts -> lazy\.ts|late\.ts -> lazy\.ts -> late\.ts/);
  });
});
