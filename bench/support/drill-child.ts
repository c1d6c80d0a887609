// The drill's side of a drill benchmark (measureDrill): runs the bench drill once in its own
// process and prints one JSON line. It imports only what the `restoreproof` command imports, so its
// start, import and peak RSS are the command's.
import { runDrill } from '../../src/run/run.ts';
import { preferSmallHeap } from '../../src/util/heap.ts';

export interface DrillMeasurement {
  status: string;
  errors: unknown[];
  /** Milliseconds since the child process started, from the harness's own clock. */
  runDrillCalledMs: number;
  firstStepMs: number | null;
  runEndMs: number;
  reportDurationMs: number;
  phases: { name: string; status: string; durationMs: number; startMs: number; endMs: number }[];
  stores: { name: string; restoreDurationMs: number; steps: { tool: string; durationMs: number }[] }[];
  checks: { id: string; status: string; durationMs: number; message: string }[];
  /** The highest memory sampled (every 100 ms) while each phase was the latest to start, in MiB: where RSS grows, and in which part. */
  memoryByPhase: Record<string, { rss: number; heapUsed: number; external: number; arrayBuffers: number }>;
}

/** The child side: runs the drill once and prints one JSON line (seconds since process start, peak RSS, measurement). */
async function drillChild(): Promise<never> {
  // As the `restoreproof` command does (bin/restoreproof.js), so the memory measured is the command's.
  preferSmallHeap();
  const file = process.env.BENCH_DRILL!;
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  const phaseStart = new Map<string, number>();
  const phases: DrillMeasurement['phases'] = [];
  let firstStepMs: number | null = null;
  const memoryByPhase: DrillMeasurement['memoryByPhase'] = {};
  let current = 'start-up';
  const sample = () => {
    const u = process.memoryUsage();
    const peak = (memoryByPhase[current] ??= { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 });
    for (const k of ['rss', 'heapUsed', 'external', 'arrayBuffers'] as const) peak[k] = Math.max(peak[k], Math.round(u[k] / 2 ** 20));
  };
  const sampler = setInterval(sample, 100).unref();
  const runDrillCalledMs = performance.now();
  const report = await runDrill(file, {
    runtime: 'local',
    reportDir: process.env.BENCH_REPORT_DIR!,
    formats: ['json'],
    signal: controller.signal,
    runId: `bench-${process.pid}`,
    reporters: [{
      onPhaseStart: (name) => {
        sample();
        current = name;
        phaseStart.set(name, performance.now());
      },
      onPhaseEnd: (p) => phases.push({ name: p.name, status: p.status, durationMs: p.durationMs, startMs: phaseStart.get(p.name) ?? performance.now(), endMs: performance.now() }),
      onStepStart: () => (firstStepMs ??= performance.now()),
    }],
  });
  const runEndMs = performance.now();
  sample();
  clearInterval(sampler);
  const result: DrillMeasurement = {
    status: report.status,
    errors: report.errors,
    runDrillCalledMs,
    firstStepMs,
    runEndMs,
    reportDurationMs: report.durationMs,
    phases,
    stores: report.stores.map((s) => ({ name: s.name, restoreDurationMs: s.restoreDurationMs, steps: s.steps.map((x) => ({ tool: x.tool, durationMs: x.durationMs })) })),
    checks: report.checks.map((c) => ({ id: c.id, status: c.status, durationMs: c.durationMs, message: c.message })),
    memoryByPhase,
  };
  process.stdout.write(`${JSON.stringify({ seconds: runEndMs / 1000, maxRssMiB: process.resourceUsage().maxRSS / 1024, result })}\n`);
  process.exit(0);
}


await drillChild();
