// `npm run bench -- mutation [--drill <name>] [--repeat 3]`: for each reference drill, the wall time
// of a plain run and of `restoreproof mutate` on the same backups, alternated `repeat` times in this
// process, and the ratio of their medians (issue 19's budget: mutation at most 3x the drill). A drill
// at CI scale takes 1.5-3 s, so one pair swings by a second with the machine's load; the median of
// alternated pairs does not. Prints the score beside it.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { testbedBinaryVars, testbedDrillVars, type TestbedEnv } from '../scripts/lib/testbed-env.ts';
import { referenceDrills } from '../scripts/scenarios/reference.ts';
import { runDrill } from '../src/run/run.ts';
import { report, type Figure } from './lib.ts';

const { values } = parseArgs({ options: { drill: { type: 'string', multiple: true }, repeat: { type: 'string', default: '3' } } });
const repeat = Number(values.repeat);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat ${values.repeat}: a whole number of pairs, at least 1`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
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
  const plainSeconds: number[] = [];
  const mutateSeconds: number[] = [];
  let mutated: Awaited<ReturnType<typeof timed>> | undefined;
  for (let i = 0; i < repeat; i++) {
    const plain = await timed(false);
    if (plain.result.status !== 'passed' && plain.result.status !== 'warned') throw new Error(`${name}: the plain run did not pass (${plain.result.status}); see ${join(out, 'reports-run')}`);
    plainSeconds.push(plain.seconds);
    mutated = await timed(true);
    mutateSeconds.push(mutated.seconds);
  }
  const mutation = mutated!.result.mutation;
  figures.push(
    { name: `${name}_drill_wall`, value: median(plainSeconds), unit: `s (median of ${repeat})` },
    { name: `${name}_mutation_wall`, value: median(mutateSeconds), unit: `s (median of ${repeat})` },
    { name: `${name}_mutation_vs_drill`, value: median(mutateSeconds) / median(plainSeconds), unit: 'ratio (goal <= 3)' },
    { name: `${name}_score`, value: mutation?.score ?? NaN, unit: `killed ${mutation?.killed ?? 0} of ${mutation?.total ?? 0}` },
  );
  scores[name] = { score: mutation?.score, survivors: mutation?.mutants.filter((m) => m.status === 'survived').map((m) => m.id), plainSeconds, mutateSeconds };
  for (const key of Object.keys(env)) delete process.env[key];
  await rm(join(out, 'backups'), { recursive: true, force: true });
}
await report('mutation', figures, { drills: names, repeat, scores });
