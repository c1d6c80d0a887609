// Verifies an audit chain on every core: the table is cut into ranges of its ordering key, and each
// range is read and verified in its own worker thread over its own connection. Row n verifies with
// row n−1's stored MAC, so a range also reads the row just before it (the last row of the range
// before), only for that MAC.
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { AuditChainCheckSpec } from '../drill/types.ts';
import type { KeyRange } from '../engines/rows.ts';
import type { StoreEndpoint } from '../runtimes/types.ts';

/** What one worker verifies. Plain data: it crosses to the worker thread by structured clone. */
export interface RangeJob {
  /** RowSource.module of the store's engine. */
  module: string;
  store: { name: string; engine: string; endpoint: StoreEndpoint };
  database: string;
  relation: string;
  columns: string[];
  check: AuditChainCheckSpec;
  key: KeyObject;
  range: KeyRange;
}

export interface RangeOutcome {
  rowsRead: number;
  rowsVerified: number;
  rowsExcluded: number;
  breaks: number;
  /** The range's first break; the range stops there. */
  firstBreakKey?: string;
}

/** n cut keys → n + 1 ranges; each range after the first starts at the previous range's last key. */
export function keyRanges(keys: string[]): KeyRange[] {
  if (keys.length === 0) return [{}];
  return [{ to: keys[0]! }, ...keys.slice(1).map((to, i) => ({ from: keys[i]!, to })), { from: keys.at(-1)! }];
}

const workerUrl = new URL(`./audit-chain-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

function runWorker(job: RangeJob, workers: Set<Worker>): Promise<RangeOutcome | undefined> {
  return new Promise((resolve) => {
    const worker = new Worker(workerUrl, { workerData: job });
    workers.add(worker);
    let outcome: RangeOutcome | undefined;
    worker.on('message', (m: RangeOutcome) => (outcome = m));
    worker.on('error', () => {}); // the one-pass verification that follows reports the cause
    worker.on('exit', () => {
      workers.delete(worker);
      resolve(outcome);
    });
  });
}

/**
 * Verifies every range in parallel. Returns the outcomes in key order when every range finished;
 * undefined as soon as one range breaks or a worker fails, after stopping the others: the caller
 * then verifies in one pass, so a broken chain is reported exactly as the one-pass check reports it
 * (the first break in key order, its kind judged with the rows around it).
 */
export async function verifyRanges(jobs: RangeJob[], signal: AbortSignal): Promise<RangeOutcome[] | undefined> {
  const workers = new Set<Worker>();
  const stopAll = () => {
    for (const w of workers) void w.terminate();
  };
  signal.addEventListener('abort', stopAll, { once: true });
  try {
    const outcomes = await Promise.all(
      jobs.map(async (job) => {
        const outcome = await runWorker(job, workers);
        if (!outcome || outcome.breaks > 0) stopAll();
        return outcome;
      }),
    );
    signal.throwIfAborted();
    return outcomes.every((o): o is RangeOutcome => o !== undefined && o.breaks === 0) ? outcomes : undefined;
  } finally {
    signal.removeEventListener('abort', stopAll);
    stopAll();
  }
}

/** Like verifyRanges, but returns every range's outcome (undefined for a failed or stopped worker): for tests. */
export async function verifyEachRange(jobs: RangeJob[]): Promise<(RangeOutcome | undefined)[]> {
  const workers = new Set<Worker>();
  return Promise.all(jobs.map((job) => runWorker(job, workers)));
}
