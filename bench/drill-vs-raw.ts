// drill-vs-raw: the raw restore tools, run by hand one store after another with the options a
// careful operator picks, against the whole drill over the same backups on the same (local)
// runtime. Servers come from the product's own local provisioners on both sides.
// Usage: npm run bench -- drill-vs-raw [--scale 1] [--repeat N]   (1 = mid-size: ~1 GB pg_dump -Fc, 500k
// documents, 100k objects, 1M audit rows; the seed is cached under $RESTOREPROOF_BENCH_CACHE or
// /var/tmp/restoreproof-bench, keyed by scale)
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchBackups, benchCacheDir, type BenchBackups } from '../scripts/lib/bench-backups.ts';
import { useTestbedBinaries } from '../test/support/backends.ts';
import { flag, medianOfRounds, onSignals, report, stopChildren, type Figure } from './lib.ts';
import { ratioFigures } from './support/ratios.ts';
import { measureDrill, options, phaseMs, rawBucket, rawMongo, rawPostgres, Servers, writeBenchDrill, type DrillMeasurement, type RawResult } from './support/drill.ts';


/** The figures a round is judged by, printed as each round ends. */
const headline = ['drill_vs_by_hand', 'drill_restore_vs_raw_sequential', 'harness_overhead_excluding_checks_and_provision_vs_restore', 'checks_exposed_vs_restore', 'teardown_vs_drill'];

const value = (figures: Figure[], name: string) => figures.find((f) => f.name === name)?.value ?? Number.NaN;

/** One round's figures: the raw tools' results against the drill's measurement. */
function roundFigures(b: BenchBackups, raw: RawResult[], drillWall: number, maxRssMiB: number, m: DrillMeasurement): Figure[] {
  const rawSequential = raw.reduce((s, r) => s + r.seconds, 0);
  const rawMax = Math.max(...raw.map((r) => r.seconds));
  const restoreWall = phaseMs(m, 'restore') / 1000;
  const importSeconds = m.runDrillCalledMs / 1000;
  const reportSeconds = (m.runEndMs - m.runDrillCalledMs - m.reportDurationMs) / 1000;
  const overhead = drillWall - restoreWall;
  const byPhase: Figure[] = [
    { name: 'overhead_node_start_and_import', value: importSeconds, unit: 's' },
    ...m.phases.filter((p) => p.name !== 'restore').map((p) => ({ name: `overhead_${p.name}`, value: p.durationMs / 1000, unit: 's' })),
    { name: 'overhead_reports', value: reportSeconds, unit: 's' },
  ];
  const provisionSeconds = phaseMs(m, 'provision') / 1000;
  const storeSeconds = (name: string) => (m.stores.find((s) => s.name === name)?.restoreDurationMs ?? 0) / 1000;
  return [
    { name: 'scale', value: scale, unit: 'x mid-size' },
    { name: 'pg_dump_size', value: b.bytes.postgresDump / 2 ** 20, unit: 'MiB' },
    { name: 'pg_event_rows', value: b.counts.eventRows, unit: 'rows' },
    { name: 'audit_rows', value: b.counts.auditRows, unit: 'rows' },
    { name: 'mongo_documents', value: b.counts.mongoDocuments, unit: 'documents' },
    { name: 'mongo_archive_size', value: b.bytes.mongoArchive / 2 ** 20, unit: 'MiB' },
    { name: 'objects', value: b.counts.objects, unit: 'objects' },
    { name: 'bucket_mirror_size', value: b.bytes.bucketMirror / 2 ** 20, unit: 'MiB' },
    ...raw.map((r) => ({ name: `raw_${r.store}_wall`, value: r.seconds, unit: 's' })),
    ...raw.map((r) => ({ name: `raw_${r.store}_server_start`, value: r.serverStartSeconds, unit: 's' })),
    { name: 'raw_sequential_wall', value: rawSequential, unit: 's' },
    { name: 'raw_max_store_wall', value: rawMax, unit: 's' },
    { name: 'drill_wall', value: drillWall, unit: 's' },
    { name: 'drill_restore_wall', value: restoreWall, unit: 's' },
    ...['pg', 'mongo', 'bucket'].map((s) => ({ name: `drill_${s}_restore`, value: storeSeconds(s), unit: 's' })),
    { name: 'drill_vs_raw_sequential', value: drillWall / rawSequential, unit: 'ratio' },
    { name: 'drill_vs_raw_max_store', value: drillWall / rawMax, unit: 'ratio' },
    { name: 'drill_restore_vs_raw_max_store', value: restoreWall / rawMax, unit: 'ratio' },
    { name: 'harness_overhead', value: overhead, unit: 's' },
    { name: 'harness_overhead_vs_restore', value: overhead / restoreWall, unit: 'ratio' },
    ...byPhase,
    ...m.checks.map((c) => ({ name: `check_${c.id}`, value: c.durationMs / 1000, unit: 's' })),
    { name: 'startup_to_first_restore_excluding_provision', value: ((m.firstStepMs ?? 0) - provisionSeconds * 1000) / 1000, unit: 's' },
    // Issue 18's table: the checks are the drill's purpose, not harness cost, and count only where they outlast the restore.
    ...ratioFigures(raw, drillWall, m, maxRssMiB),
  ];
}

useTestbedBinaries();
const scale = flag('scale', 1);
/** Three rounds up to a quarter of mid-size (about 40 s each at 0.1), one above (mid-size: 5-6 min). */
const repeat = flag('repeat', scale <= 0.25 ? 3 : 1);
const loadAverageAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
const servers = new Servers();
onSignals(() => Promise.all([stopChildren(), servers.stopAll(true)]));
try {
  const cacheDir = benchCacheDir('drill-vs-raw', scale);
  const t0 = performance.now();
  const b = await benchBackups(cacheDir, scale);
  console.error(`backups at ${cacheDir} (${((performance.now() - t0) / 1000).toFixed(1)}s): pg_dump ${(b.bytes.postgresDump / 2 ** 20).toFixed(0)} MiB, mongo archive ${(b.bytes.mongoArchive / 2 ** 20).toFixed(0)} MiB, ${b.counts.objects} objects`);

  // Rounds of (raw tools one after another, then the whole drill): on a shared 2-core machine two
  // runs minutes apart differ by 10% or more, so each ratio is taken within its round and the
  // median of the rounds is printed (peak RSS: the highest).
  const rounds: Array<{ figures: Figure[]; raw: RawResult[]; drill: DrillMeasurement }> = [];
  for (let round = 1; round <= repeat; round++) {
    const runId = `bench-raw-${randomBytes(3).toString('hex')}`;
    const raw: RawResult[] = [];
    for (const step of [rawPostgres, rawMongo, rawBucket]) {
      const r = await step(b, runId, servers);
      console.error(`round ${round}, raw ${r.store}: ${r.seconds.toFixed(1)}s (${r.command}; server start ${r.serverStartSeconds.toFixed(1)}s)`);
      raw.push(r);
    }
    // The whole drill, in a child so its peak RSS is the harness's own.
    const drillFile = await writeBenchDrill(b, join(cacheDir, 'drill'));
    const { seconds: drillWall, maxRssMiB, m } = await measureDrill(drillFile, join(cacheDir, 'drill', 'reports'));
    console.error(`round ${round}, drill: ${drillWall.toFixed(1)}s, restore phase ${(phaseMs(m, 'restore') / 1000).toFixed(1)}s, peak RSS ${maxRssMiB.toFixed(0)} MiB`);
    const figures = roundFigures(b, raw, drillWall, maxRssMiB, m);
    console.error(`round ${round}: ${figures.filter((f) => headline.includes(f.name)).map((f) => `${f.name} ${f.value.toFixed(3)}`).join(', ')}`);
    rounds.push({ figures, raw, drill: m });
  }
  const figures: Figure[] = [{ name: 'rounds', value: repeat, unit: 'rounds' }, ...medianOfRounds(rounds.map((r) => r.figures))];
  // raw and drill: the median round's (by drill_vs_by_hand), for `node bench/support/ratios.ts`; every round is in `rounds`.
  const middle = [...rounds].sort((x, y) => value(x.figures, 'drill_vs_by_hand') - value(y.figures, 'drill_vs_by_hand'))[Math.floor((rounds.length - 1) / 2)]!;
  await report(`drill-vs-raw`, figures, { scale, repeat, loadAverageAtStart, counts: b.counts, bytes: b.bytes, seedSeconds: b.seedSeconds, options, raw: middle.raw, drill: middle.drill, rounds: rounds.map((r) => ({ figures: r.figures, raw: r.raw, drill: r.drill })) });
} finally {
  await servers.stopAll();
}
