import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from '../../scripts/generate-registry.ts';
import { engineAliases, engineNames, engines } from '../../src/engines/index.ts';
import { runtimeNames, runtimes } from '../../src/runtimes/index.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('generated registry (npm run generate)', () => {
  it('every committed output is what the generator writes now', async () => {
    const stale: string[] = [];
    for (const [path, content] of await generate()) if ((await readFile(join(root, path), 'utf8').catch(() => undefined)) !== content) stale.push(path);
    assert.deepEqual(stale, [], `stale generated files: run \`npm run generate\` and commit ${stale.join(', ')}`);
  });

  it('has one engine per engine folder, named as its stores name it, and one runtime per runtime folder', async () => {
    const engineFolders = (await readdir(join(root, 'src/engines'), { withFileTypes: true })).filter((e) => e.isDirectory() && existsSync(join(root, 'src/engines', e.name, 'index.ts'))).map((e) => e.name);
    assert.deepEqual([...engineNames], engineFolders.sort());
    for (const name of engineNames) assert.equal(engines[name].name, name);
    const schema = JSON.parse(await readFile(join(root, 'schemas/drill.schema.json'), 'utf8'));
    // Each store's engine is its name (const), or its name first and then its declared aliases (enum).
    const engineField = (v: { $ref: string }) => schema.$defs[v.$ref.replace('#/$defs/', '')].properties.engine as { const?: string; enum?: string[] };
    assert.deepEqual(schema.$defs.store.oneOf.map((v: { $ref: string }) => engineField(v).const ?? engineField(v).enum![0]), [...engineNames]);
    for (const v of schema.$defs.store.oneOf as { $ref: string }[]) {
      const [name, ...aliases] = engineField(v).enum ?? [];
      for (const alias of aliases) assert.equal(engineAliases[alias], name);
    }
    assert.deepEqual(schema.properties.spec.properties.runtime.enum, ['auto', ...runtimeNames]);
    for (const name of runtimeNames) assert.equal(runtimes[name].name, name);
    assert.deepEqual([...runtimeNames], ['local', 'containers', 'kubernetes']);
  });

  it('loading the runtimes loads neither the Docker nor the Kubernetes client until a lazy runtime is used', async () => {
    // A fresh process records every module it resolves; the local runtime must not pull testcontainers in.
    const probe = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
      const { runtimes } = await import(${JSON.stringify(join(root, 'src/runtimes/index.ts'))});
      const heavy = () => seen.filter((u) => /node_modules\\/(testcontainers|dockerode|@kubernetes)\\//.test(u)).length;
      const before = heavy();
      await runtimes.containers.describeProvision({ drillName: 'd', storeName: 'db', drillDir: '/tmp', spec: { engine: 'postgres', restore: [] } }).catch(() => {});
      console.log(JSON.stringify({ before, after: heavy(), local: runtimes.local.name }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], { cwd: root });
    const { before, after, local } = JSON.parse(stdout.trim().split('\n').pop()!) as { before: number; after: number; local: string };
    assert.equal(local, 'local');
    assert.equal(before, 0, 'importing the runtimes loaded a Docker or Kubernetes client');
    assert.ok(after > 0, 'using the containers runtime did not load its client: the probe would not see a regression');
  });
});
