// Shared by the benchmarks: stable `name value unit` lines and a JSON file under reports/bench/.
import { mkdir, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

export interface Figure {
  name: string;
  value: number;
  unit: string;
}

export function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverage: loadavg().map((x) => Math.round(x * 100) / 100) };
}

export const formatFigure = (f: Figure) => `${f.name} ${Number.isInteger(f.value) ? f.value : f.value.toFixed(3)} ${f.unit}`;

export async function report(bench: string, figures: Figure[], parameters: Record<string, unknown>): Promise<void> {
  for (const f of figures) console.log(formatFigure(f));
  const dir = join(new URL('..', import.meta.url).pathname, 'reports', 'bench');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${bench}.json`), `${JSON.stringify({ bench, at: new Date().toISOString(), machine: machine(), parameters, figures }, null, 2)}\n`);
}

/** Children of measureInChild still running, so a signal handler can pass the signal on. */
export const liveChildren = new Set<import('node:child_process').ChildProcess>();

/** Passes a signal on to every measuring child and waits for them to exit (they tear down their own servers). */
export function stopChildren(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return Promise.all([...liveChildren].map((c) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('close', () => resolve());
    c.kill(signal);
  }))).then(() => undefined);
}

/** Runs this same script in a child process for one measurement, so its peak RSS is its own. */
export function measureInChild(script: string, args: string[], env: Record<string, string>): Promise<{ seconds: number; maxRssMiB: number; result: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    liveChildren.add(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('close', (code) => {
      liveChildren.delete(child);
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!));
    });
  });
}

/**
 * On SIGINT/SIGTERM: run `cleanup` (stop servers, pass the signal on to measuring children), then
 * exit 130. Errors thrown by work cut short meanwhile (a socket reset by a server being stopped)
 * are ignored, so they cannot end the process before its servers are stopped.
 */
export function onSignals(cleanup: () => Promise<unknown>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    process.on('uncaughtException', () => {});
    process.on('unhandledRejection', () => {});
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export const median = (...values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * One figure list from several rounds' (same names, same order): each ratio is taken within its round,
 * so a round disturbed by the shared machine moves one sample, not the result. The median of the
 * rounds, except peak RSS (`*_rss`, and names in `highest`): the highest.
 */
export function medianOfRounds(rounds: Figure[][], highest: string[] = []): Figure[] {
  return rounds[0]!.map((f) => {
    const values = rounds.map((r) => r.find((x) => x.name === f.name)?.value ?? Number.NaN);
    return { ...f, value: f.name.endsWith('_rss') || highest.includes(f.name) ? Math.max(...values) : median(...values) };
  });
}

export function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
