import { fetchArtefacts, fetchJobsOf, storesWithStaged } from '../../sources/fetch.ts';
import { drillOf, phase, Stop, type RunContext } from '../context.ts';

/**
 * fetch: artefacts named by a source (S3, SFTP, a dated folder, an encrypted archive) are selected,
 * verified, decrypted and unpacked into the run's staging dir; the engines get local paths through
 * the context's stores, and the loaded drill stays as written.
 */
export async function fetchPhase(ctx: RunContext): Promise<void> {
  const drill = drillOf(ctx);
  const jobs = fetchJobsOf(drill.document.spec.stores);
  if (jobs.length === 0) return;
  const fetched = await phase(ctx, 'fetch', () => fetchArtefacts(jobs, { runId: ctx.runId, drillDir: drill.dir, signal: ctx.signal, staging: ctx.staging }));
  if (!fetched || ctx.signal.aborted) throw new Stop();
  ctx.staged = fetched;
  ctx.stores = storesWithStaged(drill.document.spec.stores, fetched);
}
