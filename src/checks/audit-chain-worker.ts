// A worker thread of audit-chain-ranges.ts: verifies the key ranges it is sent, one after another,
// over one connection, and posts each range's RangeOutcome; `null` means no more: it closes the
// connection and exits.
import { parentPort } from 'node:worker_threads';
import { useCompileCache } from '../util/compile-cache.ts';
import type { RangeJob } from './audit-chain-ranges.ts';

// A worker is a Node instance of its own: as the command does, the compile cache first, so the
// modules the verification imports are not type-stripped and compiled again in every worker.
useCompileCache();
const { RangeVerifier } = await import('./audit-chain-verify.ts');

const verifier = new RangeVerifier();
const never = new AbortController().signal; // the parent stops a worker by terminating it
parentPort!.on('message', (job: RangeJob | null) => {
  if (job === null) return void verifier.close().finally(() => process.exit(0));
  void verifier.verify(job, never).then(
    (outcome) => parentPort!.postMessage(outcome),
    (err: unknown) => {
      throw err; // an uncaught error ends the worker: the parent sees the range unfinished
    },
  );
});
