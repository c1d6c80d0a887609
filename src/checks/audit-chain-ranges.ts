// Verifies an audit chain on every core: the table is cut into ranges of its ordering key, and each
// range is read and verified over its own connection, by the calling thread and by worker threads,
// each taking the next range from one queue as it finishes one: the calling thread starts at once,
// and the workers join as soon as they have started. Row n verifies with row n−1's stored MAC, so
// a range also reads the row just before it (the last row of the range before), only for that MAC.
import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { AuditChainCheckSpec } from '../drill/types.ts';
import type { KeyRange } from '../engines/rows.ts';
import type { StoreEndpoint } from '../runtimes/types.ts';

/** What one range's verification needs. Plain data: it crosses to a worker thread by structured clone. */
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

/** Verifies ranges one after another in one thread; closed when that thread has no more. */
export interface RangeVerifying {
  /** Undefined when `stop` is aborted before the range ends. */
  verify(job: RangeJob, stop: AbortSignal): Promise<RangeOutcome | undefined>;
  close(): Promise<void>;
}

/** n cut keys → n + 1 ranges; each range after the first starts at the previous range's last key. */
export function keyRanges(keys: string[]): KeyRange[] {
  if (keys.length === 0) return [{}];
  return [{ to: keys[0]! }, ...keys.slice(1).map((to, i) => ({ from: keys[i]!, to })), { from: keys.at(-1)! }];
}

const workerUrl = new URL(`./audit-chain-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Runs every job on `verifiers` verifiers, the calling thread and `verifiers - 1` workers, and returns
 * each job's outcome in job order (undefined: its verifier failed or was stopped). With `stopOnBreak`,
 * the first break or failure stops everything.
 */
async function runJobs(jobs: RangeJob[], verifiers: number, here: RangeVerifying, options: { stopOnBreak: boolean; signal?: AbortSignal }): Promise<(RangeOutcome | undefined)[]> {
  const outcomes = new Array<RangeOutcome | undefined>(jobs.length);
  let next = 0;
  const stop = new AbortController();
  const workers = new Set<Worker>();
  const stopAll = () => {
    stop.abort();
    for (const w of workers) void w.terminate();
  };
  const finished = (outcome: RangeOutcome | undefined) => {
    if (options.stopOnBreak && (!outcome || outcome.breaks > 0)) stopAll();
  };
  options.signal?.addEventListener('abort', stopAll, { once: true });
  const inThisThread = (async () => {
    try {
      while (next < jobs.length && !stop.signal.aborted) {
        const at = next++;
        const outcome = await here.verify(jobs[at]!, stop.signal);
        outcomes[at] = outcome;
        finished(outcome);
      }
    } finally {
      await here.close();
    }
  })();
  const inWorker = () =>
    new Promise<void>((resolve) => {
      if (next >= jobs.length || stop.signal.aborted) return resolve();
      const worker = new Worker(workerUrl);
      workers.add(worker);
      let at = -1;
      const give = () => {
        if (stop.signal.aborted) return void worker.terminate();
        if (next >= jobs.length) {
          // No more: the worker closes its connection and exits (or is ended, if that hangs).
          worker.postMessage(null);
          setTimeout(() => void worker.terminate(), 5000).unref();
          return;
        }
        at = next++;
        worker.postMessage(jobs[at]);
      };
      worker.on('online', give);
      worker.on('message', (outcome: RangeOutcome) => {
        outcomes[at] = outcome;
        at = -1;
        finished(outcome);
        give();
      });
      worker.on('error', () => {}); // the one-pass verification that follows reports the cause
      worker.on('exit', () => {
        workers.delete(worker);
        if (at >= 0) finished(undefined); // died or was stopped inside a range
        resolve();
      });
    });
  try {
    await Promise.all([inThisThread, ...Array.from({ length: verifiers - 1 }, inWorker)]);
  } finally {
    options.signal?.removeEventListener('abort', stopAll);
    stopAll();
  }
  return outcomes;
}

/**
 * Verifies every range in parallel. Returns the outcomes in key order when every range finished;
 * undefined as soon as one range breaks or a verifier fails, after stopping the others: the caller
 * then verifies in one pass, so a broken chain is reported exactly as the one-pass check reports it
 * (the first break in key order, its kind judged with the rows around it).
 */
export async function verifyRanges(jobs: RangeJob[], verifiers: number, here: RangeVerifying, signal: AbortSignal): Promise<RangeOutcome[] | undefined> {
  const outcomes = await runJobs(jobs, verifiers, here, { stopOnBreak: true, signal });
  signal.throwIfAborted();
  return outcomes.every((o): o is RangeOutcome => o !== undefined && o.breaks === 0) ? outcomes : undefined;
}

/** Like verifyRanges, but returns every range's outcome (undefined for a failed verifier): for tests. */
export function verifyEachRange(jobs: RangeJob[], verifiers: number, here: RangeVerifying): Promise<(RangeOutcome | undefined)[]> {
  return runJobs(jobs, verifiers, here, { stopOnBreak: false });
}
