// `npm run bench -- mutation [--drill <name>]`: for each reference drill, the wall time of a plain
// run and of `restoreproof mutate` on the same backups, one after the other in this process, and
// their ratio (issue 19's budget: mutation at most 3x the drill). Prints the score beside it.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { testbedBinaryVars, testbedDrillVars, type TestbedEnv } from '../scripts/lib/testbed-env.ts';
import { referenceDrills } from '../scripts/scenarios/reference.ts';
import { runDrill } from '../src/run/run.ts';
import { report, type Figure } from './lib.ts';

const { values } = parseArgs({ options: { drill: { type: 'string', multiple: true } } });
const names = values.drill ?? Object.keys(referenceDrills);
for (const name of names) if (!referenceDrills[name]) throw new Error(`no reference drill ${name} (one of ${Object.keys(referenceDrills).join(', ')})`);
const work = '/var/tmp/restoreproof-bench/mutation';
// On the test bed, its binaries (and its MongoDB stand-in's settings), unless the caller set them.
const root = new URL('..', import.meta.url).pathname;
const testbedFile = join(root, '.testbed/env.json');
if (existsSync(testbedFile)) {
  const testbed = JSON.parse(readFileSync(testbedFile, 'utf8')) as TestbedEnv;
  for (const [name, value] of Object.entries({ ...testbedBinaryVars(testbed), ...testbedDrillVars(testbed, join(root, 'drills/examples')) })) process.env[name] ??= value;
}
const figures: Figure[] = [];
const scores: Record<string, unknown> = {};

for (const name of names) {
  const reference = referenceDrills[name]!;
  const out = join(work, name);
  await mkdir(out, { recursive: true });
  const env = await reference.make(join(out, 'backups'));
  Object.assign(process.env, env); // secret references read the process environment
  const timed = async (mutants: boolean) => {
    const t0 = performance.now();
    const result = await runDrill(reference.drill, { runtime: 'local', env: { ...process.env }, reportDir: join(out, mutants ? 'reports-mutate' : 'reports-run'), formats: ['json'], ...(mutants ? { mutants: true } : {}) });
    return { seconds: (performance.now() - t0) / 1000, result };
  };
  const plain = await timed(false);
  if (plain.result.status !== 'passed' && plain.result.status !== 'warned') throw new Error(`${name}: the plain run did not pass (${plain.result.status}); see ${join(out, 'reports-run')}`);
  const mutated = await timed(true);
  const mutation = mutated.result.mutation;
  figures.push(
    { name: `${name}_drill_wall`, value: plain.seconds, unit: 's' },
    { name: `${name}_mutation_wall`, value: mutated.seconds, unit: 's' },
    { name: `${name}_mutation_vs_drill`, value: mutated.seconds / plain.seconds, unit: 'ratio (goal <= 3)' },
    { name: `${name}_score`, value: mutation?.score ?? NaN, unit: `killed ${mutation?.killed ?? 0} of ${mutation?.total ?? 0}` },
  );
  scores[name] = { score: mutation?.score, survivors: mutation?.mutants.filter((m) => m.status === 'survived').map((m) => m.id) };
  for (const key of Object.keys(env)) delete process.env[key];
  await rm(join(out, 'backups'), { recursive: true, force: true });
}
await report('mutation', figures, { drills: names, scores });
