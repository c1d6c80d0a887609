// drill-vs-raw: the raw restore tools, run by hand one store after another with the options a
// careful operator picks, against the whole drill over the same backups on the same (local)
// runtime. Servers come from the product's own local provisioners on both sides.
// Usage: npm run bench -- drill-vs-raw [--scale 1]   (1 = mid-size: ~1 GB pg_dump -Fc, 500k
// documents, 100k objects, 1M audit rows; the seed is cached under $RESTOREPROOF_BENCH_CACHE or
// /var/tmp/restoreproof-bench, keyed by scale)
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchBackups, benchCacheDir } from '../scripts/lib/bench-backups.ts';
import { useTestbedBinaries } from '../test/support/backends.ts';
import { flag, onSignals, report, stopChildren, type Figure } from './lib.ts';
import { ratioFigures } from './support/ratios.ts';
import { measureDrill, options, phaseMs, rawBucket, rawMongo, rawPostgres, Servers, writeBenchDrill, type RawResult } from './support/drill.ts';


useTestbedBinaries();
const scale = flag('scale', 1);
const loadAverageAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
const servers = new Servers();
onSignals(() => Promise.all([stopChildren(), servers.stopAll(true)]));
try {
  const cacheDir = benchCacheDir('drill-vs-raw', scale);
  const t0 = performance.now();
  const b = await benchBackups(cacheDir, scale);
  console.error(`backups at ${cacheDir} (${((performance.now() - t0) / 1000).toFixed(1)}s): pg_dump ${(b.bytes.postgresDump / 2 ** 20).toFixed(0)} MiB, mongo archive ${(b.bytes.mongoArchive / 2 ** 20).toFixed(0)} MiB, ${b.counts.objects} objects`);

  // Raw, one after another.
  const runId = `bench-raw-${randomBytes(3).toString('hex')}`;
  const raw: RawResult[] = [];
  for (const step of [rawPostgres, rawMongo, rawBucket]) {
    const r = await step(b, runId, servers);
    console.error(`raw ${r.store}: ${r.seconds.toFixed(1)}s (${r.command}; server start ${r.serverStartSeconds.toFixed(1)}s)`);
    raw.push(r);
  }
  const rawSequential = raw.reduce((s, r) => s + r.seconds, 0);
  const rawMax = Math.max(...raw.map((r) => r.seconds));

  // The whole drill, in a child so its peak RSS is the harness's own.
  const drillFile = await writeBenchDrill(b, join(cacheDir, 'drill'));
  const { seconds: drillWall, maxRssMiB, m } = await measureDrill(drillFile, join(cacheDir, 'drill', 'reports'));
  const restoreWall = phaseMs(m, 'restore') / 1000;
  console.error(`drill: ${drillWall.toFixed(1)}s, restore phase ${restoreWall.toFixed(1)}s, peak RSS ${maxRssMiB.toFixed(0)} MiB`);

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
  const figures: Figure[] = [
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
  await report(`drill-vs-raw`, figures, { scale, loadAverageAtStart, counts: b.counts, bytes: b.bytes, seedSeconds: b.seedSeconds, options, raw, drill: m });
} finally {
  await servers.stopAll();
}
