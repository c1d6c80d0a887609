// A worker thread of audit-chain-ranges.ts: streams one key range of the chain over its own
// connection and verifies it; posts a RangeOutcome, and stops at the range's first break.
import { parentPort, workerData } from 'node:worker_threads';
import { rowBatches, type RowSource } from '../engines/rows.ts';
import type { StartedStore } from '../runtimes/types.ts';
import { ChainVerifier, macFunction } from './audit-chain.ts';
import type { RangeJob, RangeOutcome } from './audit-chain-ranges.ts';

const job = workerData as RangeJob;
const { rowSource } = (await import(job.module)) as { rowSource: RowSource };
const source = await rowSource.stream(job.store as unknown as StartedStore, {
  database: job.database,
  relation: job.relation,
  columns: job.columns,
  orderBy: job.check.orderBy,
  range: job.range,
  signal: new AbortController().signal,
});
try {
  const verifier = new ChainVerifier(source.columns, job.check, macFunction(job.check, job.key, source.columns), { classify: false });
  let seeded = job.range.from === undefined;
  verifying: for await (const batch of rowBatches(source)) {
    for (const row of batch) {
      if (!seeded) {
        const key = verifier.key(row);
        if (key !== job.range.from) throw new Error(`range starts at ${key}, not at its cut key ${job.range.from}`);
        verifier.seed(row);
        seeded = true;
        continue;
      }
      verifier.push(row);
      if (verifier.result.breaks > 0) break verifying;
    }
  }
  const { rowsRead, rowsVerified, rowsExcluded, breaks, firstBreak } = verifier.result;
  const outcome: RangeOutcome = { rowsRead, rowsVerified, rowsExcluded, breaks, ...(firstBreak ? { firstBreakKey: firstBreak.key } : {}) };
  parentPort!.postMessage(outcome);
} finally {
  await source.close();
}
