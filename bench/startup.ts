// startup: the time from `restoreproof run` to the first restore command, server start excluded:
// node start and module import, load, verify and the gap from the end of provision to the first
// tool spawn. Measured twice: the real CLI (bin/restoreproof.js, spawned; its console timeline read
// as it arrives) and the drill in a child with the onStepStart hook (per-phase breakdown).
// Usage: npm run bench -- startup [--scale 0.001] [--runs 5]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { benchBackups, benchCacheDir, auditKey } from '../scripts/lib/bench-backups.ts';
import { useTestbedBinaries } from '../test/support/backends.ts';
import { flag, liveChildren, onSignals, report, stopChildren, type Figure } from './lib.ts';
import { measureDrill, phaseMs, writeBenchDrill } from './support/drill.ts';


const bin = new URL('../bin/restoreproof.js', import.meta.url).pathname;

/** Parses the console's durations (`372ms`, `1.2s`, `2m3s`). */
function parseShown(text: string): number {
  const m = /^(?:(\d+)m)?(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!m) throw new Error(`cannot read duration ${text}`);
  return (Number(m[1] ?? 0) * 60_000) + Number(m[2]) * (m[3] === 'ms' ? 1 : 1000);
}

/** Spawns `restoreproof run`; resolves with ms from spawn to the first `restore <store>:` line and the provision duration it printed. */
function cliRun(drill: string, reportDir: string): Promise<{ firstRestoreMs: number; provisionMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, 'run', drill, '--runtime', 'local', '--report-dir', reportDir], { env: { ...process.env, CI: 'true', BENCH_AUDIT_KEY: auditKey }, stdio: ['ignore', 'ignore', 'pipe'] });
    liveChildren.add(child);
    let firstRestoreMs: number | undefined;
    let provisionMs: number | undefined;
    let buffered = '';
    let all = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const now = performance.now();
      all += d;
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const p = /✓ provision (\S+)$/.exec(line);
        if (p) provisionMs = parseShown(p[1]!);
        if (firstRestoreMs === undefined && /\] restore \S+: /.test(line)) firstRestoreMs = now - t0;
      }
    });
    child.once('close', (code) => {
      liveChildren.delete(child);
      if (code !== 0 || firstRestoreMs === undefined || provisionMs === undefined) return reject(new Error(`restoreproof run exited ${code}:\n${all}`));
      resolve({ firstRestoreMs, provisionMs });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

useTestbedBinaries();
const scale = flag('scale', 0.001);
const runs = flag('runs', 5);
onSignals(() => stopChildren());
const dir = benchCacheDir('drill-vs-raw', scale);
const b = await benchBackups(dir, scale);
const drill = await writeBenchDrill(b, join(dir, 'drill'), false);
const cli: number[] = [];
const hook: { total: number; importMs: number; load: number; verify: number; gap: number; provision: number }[] = [];
for (let i = 0; i < runs; i++) {
  const c = await cliRun(drill, join(dir, 'drill', 'reports'));
  cli.push(c.firstRestoreMs - c.provisionMs);
  const { m } = await measureDrill(drill, join(dir, 'drill', 'reports'));
  const provisionEnd = m.phases.find((p) => p.name === 'provision')!.endMs;
  hook.push({ total: m.firstStepMs! - phaseMs(m, 'provision'), importMs: m.runDrillCalledMs, load: phaseMs(m, 'load'), verify: phaseMs(m, 'verify'), gap: m.firstStepMs! - provisionEnd, provision: phaseMs(m, 'provision') });
  console.error(`run ${i + 1}: CLI ${(cli.at(-1)! / 1000).toFixed(2)}s; hook ${(hook.at(-1)!.total / 1000).toFixed(2)}s (import ${hook.at(-1)!.importMs.toFixed(0)}ms, load ${hook.at(-1)!.load}ms, verify ${hook.at(-1)!.verify}ms, gap ${hook.at(-1)!.gap.toFixed(0)}ms; provision ${hook.at(-1)!.provision}ms excluded)`);
}
const figures: Figure[] = [
  { name: 'scale', value: scale, unit: 'x mid-size' },
  { name: 'runs', value: runs, unit: 'runs' },
  { name: 'cli_run_to_first_restore_excluding_provision_median', value: median(cli) / 1000, unit: 's' },
  { name: 'cli_run_to_first_restore_excluding_provision_min', value: Math.min(...cli) / 1000, unit: 's' },
  { name: 'hook_to_first_restore_excluding_provision_median', value: median(hook.map((h) => h.total)) / 1000, unit: 's' },
  { name: 'node_start_and_import_median', value: median(hook.map((h) => h.importMs)) / 1000, unit: 's' },
  { name: 'load_median', value: median(hook.map((h) => h.load)) / 1000, unit: 's' },
  { name: 'verify_median', value: median(hook.map((h) => h.verify)) / 1000, unit: 's' },
  { name: 'provision_end_to_first_restore_median', value: median(hook.map((h) => h.gap)) / 1000, unit: 's' },
  { name: 'provision_median_excluded', value: median(hook.map((h) => h.provision)) / 1000, unit: 's' },
];
await report('startup', figures, { scale, runs, cli, hook, artefactBytes: b.bytes });
