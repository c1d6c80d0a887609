// The reaper of one run (see ./index.ts): `node process.ts <run-id> <runtime> <tmpdir>`, started
// by the harness with a pipe on stdin. "done" on the pipe: the run tore down by itself, exit.
// End of the pipe without it: the harness is gone, so remove the run's resources, then exit.
import { removeLocalRun } from '../local/gc.ts';

const [runId, runtime, dir] = process.argv.slice(2) as [string, string, string];

/** One pass over every place the run may have left something; how many it found. */
async function sweepOnce(): Promise<number> {
  let found = 0;
  const tally = async (sweep: () => Promise<{ found: number }>) => {
    try {
      found += (await sweep()).found;
    } catch {
      found++; // the engine or the API server did not answer: try again
    }
  };
  // Containers and namespaces first: a local process of the run may be a port-forward to them.
  if (runtime === 'containers') await tally(async () => (await import('../containers/docker.ts')).removeRunResources(runId));
  if (runtime === 'kubernetes') await tally(async () => (await import('../kubernetes/namespace.ts')).removeRunNamespaces(runId));
  await tally(() => removeLocalRun(runId, dir));
  return found;
}

/**
 * Sweeps until three passes in a row find nothing: a container the engine was still creating,
 * or a process being started, when the harness died shows up in a later pass. Gives up after 50s.
 */
async function reap(): Promise<void> {
  const deadline = Date.now() + 50_000;
  let quiet = 0;
  while (quiet < 3 && Date.now() < deadline) {
    quiet = (await sweepOnce()) === 0 ? quiet + 1 : 0;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

let said = '';
let ended = false;
const onEnd = () => {
  if (ended) return;
  ended = true;
  if (said.split('\n').includes('done')) process.exit(0);
  reap().then(() => process.exit(0), () => process.exit(1));
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => (said = (said + d).slice(-64)));
process.stdin.on('end', onEnd);
process.stdin.on('close', onEnd);
process.stdin.on('error', onEnd);
