// A worker thread of audit-chain-ranges.ts: verifies the key ranges it is sent, one after another,
// each over its own connection, and posts each range's RangeOutcome.
import { parentPort } from 'node:worker_threads';
import { verifyKeyRange } from './audit-chain-verify.ts';
import type { RangeJob } from './audit-chain-ranges.ts';

const never = new AbortController().signal; // the parent stops a worker by terminating it
parentPort!.on('message', (job: RangeJob) => {
  void verifyKeyRange(job, never).then(
    (outcome) => parentPort!.postMessage(outcome),
    (err: unknown) => {
      throw err; // an uncaught error ends the worker: the parent sees the range unfinished
    },
  );
});
