// scaling: the whole drill (local runtime, the drill-vs-raw stores and checks) at scales 1, 2, 4
// and 8 of a small base, to show how restore time and the harness's memory grow with data size.
// Usage: npm run bench -- scaling [--base 0.01] [--repeat 3]   (base is a fraction of drill-vs-raw's mid-size;
// 0.01 = ~10 MiB pg_dump, 5k documents, 1k objects, 10k audit rows; seeds are cached per scale)
import { join } from 'node:path';
import { benchBackups, benchCacheDir } from '../scripts/lib/bench-backups.ts';
import { useTestbedBinaries } from '../test/support/backends.ts';
import { flag, medianOfRounds, onSignals, report, stopChildren, type Figure } from './lib.ts';
import { measureDrill, phaseMs, writeBenchDrill } from './support/drill.ts';
import { phaseShares } from './support/ratios.ts';


useTestbedBinaries();
const base = flag('base', 0.01);
const multiples = [1, 2, 4, 8];
onSignals(() => stopChildren());
/** Rounds of all four multiples, each growth taken within its round; the median printed. */
const repeat = flag('repeat', 3);
const rounds: Figure[][] = [];
const runs: Record<string, unknown>[] = [];
for (let round = 1; round <= repeat; round++) {
  const figures: Figure[] = [];
  for (const k of multiples) {
    const scale = Math.round(base * k * 1e6) / 1e6;
    const dir = benchCacheDir('drill-vs-raw', scale);
    const b = await benchBackups(dir, scale);
    const drill = await writeBenchDrill(b, join(dir, 'drill'));
    const { seconds, maxRssMiB, m } = await measureDrill(drill, join(dir, 'drill', 'reports'));
    const restore = phaseMs(m, 'restore') / 1000;
    const { overheadSeconds: overhead, checksExposedSeconds } = phaseShares(seconds, m);
    console.error(`round ${round}, x${k} (scale ${scale}): drill ${seconds.toFixed(1)}s, restore ${restore.toFixed(1)}s, peak RSS ${maxRssMiB.toFixed(0)} MiB`);
    console.error(`  peak MiB by phase (rss/heapUsed/external): ${Object.entries(m.memoryByPhase).map(([p, u]) => `${p} ${u.rss}/${u.heapUsed}/${u.external}`).join(', ')}`);
    figures.push(
      { name: `x${k}_drill_wall`, value: seconds, unit: 's' },
      { name: `x${k}_restore_wall`, value: restore, unit: 's' },
      { name: `x${k}_checks_wall`, value: phaseMs(m, 'checks') / 1000, unit: 's' },
      { name: `x${k}_checks_exposed`, value: checksExposedSeconds, unit: 's' },
      { name: `x${k}_overhead_excluding_checks_and_provision`, value: overhead, unit: 's' },
      { name: `x${k}_harness_peak_rss`, value: maxRssMiB, unit: 'MiB' },
    );
    runs.push({ round, multiple: k, scale, counts: b.counts, bytes: b.bytes, drill: m, seconds, maxRssMiB });
  }
  const get = (name: string) => figures.find((f) => f.name === name)!.value;
  figures.push(
    // 1.0 means linear: eight times the data takes eight times as long.
    { name: 'restore_growth_x8_vs_x1_per_unit', value: get('x8_restore_wall') / get('x1_restore_wall') / 8, unit: 'ratio' },
    { name: 'drill_growth_x8_vs_x1_per_unit', value: get('x8_drill_wall') / get('x1_drill_wall') / 8, unit: 'ratio' },
    { name: 'rss_growth_x8_vs_x1', value: get('x8_harness_peak_rss') / get('x1_harness_peak_rss'), unit: 'ratio' },
    { name: 'max_harness_peak_rss', value: Math.max(...multiples.map((k) => get(`x${k}_harness_peak_rss`))), unit: 'MiB' },
  );
  console.error(`round ${round}: rss_growth_x8_vs_x1 ${get('rss_growth_x8_vs_x1').toFixed(3)}, max peak RSS ${get('max_harness_peak_rss').toFixed(0)} MiB`);
  rounds.push(figures);
}
// Peak RSS figures (x*_harness_peak_rss, max_harness_peak_rss): the highest of the rounds.
await report('scaling', [{ name: 'base_scale', value: base, unit: 'x mid-size' }, { name: 'rounds', value: repeat, unit: 'rounds' }, ...medianOfRounds(rounds)], { base, multiples, repeat, rounds, runs });
