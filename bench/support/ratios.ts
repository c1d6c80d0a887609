// The figures of issue 18's table, as ratios, from one drill-vs-raw run: the raw side's results and
// the drill's phase timeline. Also run on an older run's JSON (`node bench/support/ratios.ts FILE`),
// whose bench did not print them yet, so before and after are computed the same way.
import { readFile } from 'node:fs/promises';
import { formatFigure, type Figure } from '../lib.ts';
import type { DrillMeasurement, RawResult } from './drill.ts';

type Phase = DrillMeasurement['phases'][number];

/**
 * With a pipeline per store the checks phase starts while other stores still restore, so the
 * phases overlap. Checks cost the drill only the time they run past the restore's end; overhead
 * is the drill's wall outside the restore phase, that exposed checks time and provision.
 */
export function phaseShares(drillWallSeconds: number, m: DrillMeasurement) {
  const find = (name: string): Phase | undefined => m.phases.find((p) => p.name === name);
  const seconds = (p: Phase | undefined) => (p ? p.durationMs / 1000 : 0);
  const restore = find('restore');
  const checks = find('checks');
  const restoreSeconds = seconds(restore);
  const checksExposedSeconds = checks ? Math.max(0, (checks.endMs - Math.max(checks.startMs, restore?.endMs ?? checks.startMs)) / 1000) : 0;
  const provisionSeconds = seconds(find('provision'));
  return {
    restoreSeconds,
    checksExposedSeconds,
    checksOverlappedSeconds: checks ? Math.max(0, (checks.endMs - checks.startMs) / 1000 - checksExposedSeconds) : 0,
    teardownSeconds: seconds(find('teardown')),
    overheadSeconds: drillWallSeconds - restoreSeconds - checksExposedSeconds - provisionSeconds,
  };
}

export function ratioFigures(raw: RawResult[], drillWallSeconds: number, m: DrillMeasurement, peakRssMiB: number): Figure[] {
  const { restoreSeconds, checksExposedSeconds, checksOverlappedSeconds, teardownSeconds, overheadSeconds } = phaseShares(drillWallSeconds, m);
  const rawSequential = raw.reduce((s, r) => s + r.seconds, 0);
  const rawServerStarts = raw.reduce((s, r) => s + r.serverStartSeconds, 0);
  return [
    { name: 'by_hand_wall', value: rawSequential + rawServerStarts, unit: 's' },
    { name: 'drill_vs_by_hand', value: drillWallSeconds / (rawSequential + rawServerStarts), unit: 'ratio' },
    { name: 'drill_restore_vs_raw_sequential', value: restoreSeconds / rawSequential, unit: 'ratio' },
    { name: 'checks_exposed', value: checksExposedSeconds, unit: 's' },
    { name: 'checks_overlapped_by_restore', value: checksOverlappedSeconds, unit: 's' },
    { name: 'harness_overhead_excluding_checks_and_provision', value: overheadSeconds, unit: 's' },
    { name: 'harness_overhead_excluding_checks_and_provision_vs_restore', value: overheadSeconds / restoreSeconds, unit: 'ratio' },
    { name: 'checks_exposed_vs_restore', value: checksExposedSeconds / restoreSeconds, unit: 'ratio' },
    { name: 'teardown_vs_drill', value: teardownSeconds / drillWallSeconds, unit: 'ratio' },
    { name: 'harness_peak_rss', value: peakRssMiB, unit: 'MiB' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/support/ratios.ts reports/bench/drill-vs-raw.json');
    process.exit(2);
  }
  const json = JSON.parse(await readFile(file, 'utf8')) as { figures: Figure[]; parameters: { raw: RawResult[]; drill: DrillMeasurement } };
  const figure = (name: string) => json.figures.find((f) => f.name === name)!.value;
  for (const f of ratioFigures(json.parameters.raw, figure('drill_wall'), json.parameters.drill, figure('harness_peak_rss'))) {
    console.log(formatFigure(f));
  }
}
