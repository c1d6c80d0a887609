// The package as a user installs it (issue 15): `npm pack`, `npm install <tarball> node@24` in an
// empty project, then `npx restoreproof` from there, and the library API type-checked by a consumer.
import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireBackends } from '../support/backends.ts';
import { command, installedProject, packedTarball, placeDemoDrill, succeed, type PackedTarball } from '../support/package.ts';

describe('npm package: packed, installed in an empty project, run from there', function () {
  this.timeout(900_000);
  let tarball: PackedTarball;
  let project: string;
  const npx = (args: string[]) => command('npx', ['--no-install', 'restoreproof', ...args], { cwd: project });

  before(async function () {
    requireBackends(this, 'postgres');
    tarball = await packedTarball();
    console.log(`      ${tarball.file.split('/').pop()}: ${tarball.files.length} files, ${tarball.size} bytes packed, ${tarball.unpackedSize} unpacked`);
    // typescript and @types/node: what a TypeScript consumer of the library has anyway.
    project = await installedProject(tarball.file, ['typescript@5', '@types/node@24']);
  });
  after(async () => {
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('carries only the built code, the schemas, the drills the docs name, README and LICENSE', () => {
    const unexpected = tarball.files.filter((f) => !/^(dist\/.+\.(js|d\.ts)|schemas\/[^/]+\.json|drills\/(demo|examples\/[^/]+)\.yaml|README\.md|LICENSE|package\.json)$/.test(f));
    assert.deepEqual(unexpected, []);
    for (const needed of ['dist/bin.js', 'dist/index.js', 'dist/index.d.ts', 'schemas/drill.schema.json', 'schemas/report.schema.json', 'LICENSE', 'drills/demo.yaml']) assert.ok(tarball.files.includes(needed), `${needed} is missing from the tarball`);
  });

  it('npx restoreproof runs on the project\'s Node 24 and prints its usage', async () => {
    assert.match((await succeed('npx', ['node', '--version'], { cwd: project })).stdout, /^v24\./);
    const result = await npx(['--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^restoreproof \d+\.\d+\.\d+: prove that backups restore/);
    assert.doesNotMatch(result.stderr, /ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING/);
  });

  it('validate reads the shipped drills against the shipped schema', async () => {
    const drills = join(project, 'node_modules/restoreproof/drills');
    const examples = (await readdir(join(drills, 'examples'))).map((f) => join(drills, 'examples', f));
    const result = await npx(['validate', join(drills, 'demo.yaml'), ...examples]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /ok .*demo\.yaml/);
    const broken = join(project, 'broken.yaml');
    await writeFile(broken, 'apiVersion: restoreproof/v1\nkind: RestoreDrill\nmetadata: { name: x }\nspec:\n  stores: {}\n  checks: []\n  bogus: 1\n');
    const bad = await npx(['validate', broken]);
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /broken\.yaml:7:\d+: .*bogus/);
  });

  it('runs the demo drill on the local runtime, signs its evidence, and verify accepts it', async () => {
    await placeDemoDrill(project, join(project, 'node_modules/restoreproof/drills/demo.yaml'));
    assert.equal((await npx(['keygen', '--out', 'drills/backups/demo/signing.key'])).code, 0);

    const run = await npx(['run', 'drills/demo.yaml', '--runtime', 'local', '--report-dir', 'reports']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'a stack trace reached the user');
    const envelope = (await readdir(join(project, 'reports'))).find((f) => f.endsWith('.dsse.json'));
    assert.ok(envelope, 'no signed evidence written');
    const verify = await npx(['verify', join('reports', envelope), '--key', 'drills/backups/demo/signing.key.pub']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^VERIFIED$/m);
  });

  it('the library API type-checks in a consumer project (moduleResolution nodenext) and runs', async () => {
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      files: ['consumer.ts'],
    }));
    await writeFile(join(project, 'consumer.ts'), `import { loadDrill, runDrill, verifyEvidence, type RunReport, type Drill } from 'restoreproof';
import { readdirSync } from 'node:fs';

const drill: Drill = await loadDrill('drills/demo.yaml');
const name: string = drill.document.metadata.name;
const run: (file: string) => Promise<RunReport> = (file) => runDrill(file, { reportDir: 'reports' });
// @ts-expect-error runDrill takes a drill file, not a number (the API is typed, not any)
const mistyped = () => runDrill(42);
const report = readdirSync('reports').find((f) => /^\\d{8}T\\d{6}Z-[0-9a-f]+\\.json$/.test(f))!;
const verified = await verifyEvidence(\`reports/\${report}\`, { keyFiles: ['drills/backups/demo/signing.key.pub'] });
const ok: boolean = verified.ok;
console.log(JSON.stringify({ name, ok, checks: verified.lines.map((l) => l.check), run: typeof run, mistyped: typeof mistyped }));
`);
    const typecheck = await command('npx', ['--no-install', 'tsc', '-p', 'tsconfig.json'], { cwd: project });
    assert.equal(typecheck.code, 0, typecheck.stdout + typecheck.stderr);
    // And with Node's type stripping, outside node_modules, against the built JavaScript.
    const ran = await succeed('npx', ['--no-install', 'node', 'consumer.ts'], { cwd: project });
    const printed = JSON.parse(ran.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual({ name: printed.name, ok: printed.ok, run: printed.run }, { name: 'demo', ok: true, run: 'function' });
    assert.ok(printed.checks.includes('signature'), ran.stdout);
  });
});
