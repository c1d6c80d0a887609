// `node scripts/check-cycles.ts [folder]`: exits 1 naming every import cycle among the TypeScript
// files of a folder (default src/). Type-only and dynamic imports count: a cycle through `import type`
// still ties two modules' designs together. Run by `npm test` after the type check.
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';

const root = new URL('..', import.meta.url).pathname;

/** Every cycle among `folder`'s .ts files, each as the list of files in it, relative to `folder`. */
export async function findCycles(folder: string): Promise<string[][]> {
  const dir = resolve(folder);
  // transform: false keeps type-only imports (dpdm would strip them when transforming).
  const tree = await parseDependencyTree('**/*.ts', { cwd: dir, context: dir, transform: false, skipDynamicImports: false, extensions: ['.ts'], tsconfig: undefined });
  return parseCircular(tree).map((cycle) => cycle.map((file) => relative(dir, resolve(dir, file))));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const folder = process.argv[2] ?? resolve(root, 'src');
  const cycles = await findCycles(folder);
  const shown = relative(process.cwd(), folder) || '.';
  if (cycles.length === 0) {
    console.log(`import cycles in ${shown}: 0`);
  } else {
    console.error(`import cycles in ${shown}: ${cycles.length}`);
    for (const cycle of cycles) console.error(`  ${[...cycle, cycle[0]].join(' -> ')}`);
    process.exitCode = 1;
  }
}
