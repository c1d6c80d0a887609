import type { StoreSpec } from '../drill/types.ts';
import { artefactSourceOf } from './artefact-source.ts';
import { resolveJob, type FetchContext, type Resolved } from './locate.ts';
import { materialise } from './materialise.ts';
import type { SourceReader } from './reader.ts';
import type { FetchJob, StagedArtefact } from './staging.ts';
import { checkSpace } from './transfer.ts';

/**
 * The fetch phase: selects every artefact, checks staging space, downloads (resuming), verifies
 * integrity, then decrypts and unpacks as streams. Throws an ArtefactError naming the artefact.
 */
export async function fetchArtefacts(jobs: FetchJob[], ctx: FetchContext): Promise<StagedArtefact[]> {
  const readers: SourceReader[] = [];
  try {
    const resolved: Resolved[] = [];
    for (const job of jobs) resolved.push(await resolveJob(job, ctx, readers));
    await checkSpace(resolved, ctx);
    const out: StagedArtefact[] = [];
    for (const r of resolved) out.push(await materialise(r, ctx));
    return out;
  } finally {
    await Promise.allSettled(readers.map((r) => r.close()));
  }
}

/** The steps whose `artefact` is an object (a source to fetch), in drill order. */
export function fetchJobsOf(stores: Readonly<Record<string, StoreSpec>>): FetchJob[] {
  const jobs: FetchJob[] = [];
  for (const [store, spec] of Object.entries(stores)) {
    spec.restore.forEach((step, index) => {
      const source = artefactSourceOf(step);
      if (source) jobs.push({ store, step: index, spec: source });
    });
  }
  return jobs;
}

/**
 * The stores as the engines see them: each fetched step's `artefact` is its staged path, exactly
 * as if the drill had named it. A copy: the loaded drill is never changed.
 */
export function storesWithStaged(stores: Readonly<Record<string, StoreSpec>>, staged: readonly StagedArtefact[]): Record<string, StoreSpec> {
  return Object.fromEntries(Object.entries(stores).map(([name, store]) => {
    const mine = staged.filter((s) => s.store === name);
    if (mine.length === 0) return [name, store];
    const restore = store.restore.map((step, index) => {
      const path = mine.find((s) => s.step === index)?.path;
      return path === undefined ? step : { ...step, artefact: path };
    });
    return [name, { ...store, restore } as StoreSpec];
  }));
}
