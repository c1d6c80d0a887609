// The structure docs/architecture.md promises, held as tests: engine names only in engine folders,
// runtimes that never reach into an engine folder or another runtime's files.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineNames } from '../../src/engines/registry.generated.ts';
import { runtimeNames } from '../../src/runtimes/registry.generated.ts';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = sources(src).map((path) => ({ path: relative(src, path), text: readFileSync(path, 'utf8') }));
const imports = (text: string) => [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);

describe('architecture', () => {
  it('no code outside src/engines/<name>/ and the generated registries names an engine', () => {
    const quoted = new RegExp(`'(${engineNames.join('|')})'`);
    const found = files
      .filter((f) => !/^engines\/[^/]+\//.test(f.path) && !f.path.endsWith('.generated.ts'))
      .flatMap((f) => f.text.split('\n').flatMap((line, i) => (quoted.test(line) ? [`src/${f.path}:${i + 1}: ${line.trim()}`] : [])));
    assert.deepEqual(found, []);
  });

  it('a runtime imports no engine folder and no other runtime\'s files', () => {
    // The reaper and gc are not runtimes: they clean up after each runtime, so they may use each one's own gc.
    const runtimes: readonly string[] = runtimeNames;
    const found: string[] = [];
    for (const f of files.filter((f) => f.path.startsWith('runtimes/'))) {
      const own = f.path.split('/')[1]!;
      for (const spec of imports(f.text).filter((s) => s.startsWith('.'))) {
        const target = relative(src, join(src, f.path, '..', spec));
        if (/^engines\/[^/]+\//.test(target)) found.push(`src/${f.path} imports src/${target}`);
        const other = /^runtimes\/([^/]+)\//.exec(target)?.[1];
        if (other && other !== own && runtimes.includes(other) && runtimes.includes(own)) found.push(`src/${f.path} imports src/${target}`);
      }
    }
    assert.deepEqual(found, []);
  });

  it('an engine folder imports no other engine folder', () => {
    const found: string[] = [];
    for (const f of files.filter((f) => /^engines\/[^/]+\//.test(f.path))) {
      const own = f.path.split('/')[1]!;
      for (const spec of imports(f.text).filter((s) => s.startsWith('.'))) {
        const other = /^engines\/([^/]+)\//.exec(relative(src, join(src, f.path, '..', spec)))?.[1];
        if (other && other !== own) found.push(`src/${f.path} imports src/engines/${other}/`);
      }
    }
    assert.deepEqual(found, []);
  });
});
