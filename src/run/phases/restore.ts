import { engineFor } from '../../engines/index.ts';
import type { RestoreStepResult } from '../../engines/types.ts';
import { RestoreproofError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { drillOf, interruption, phase, type RunContext } from '../context.ts';

/** The restore under way: each store's own outcome (true: restored), and the whole phase's. */
export interface Restoring {
  stores: ReadonlyMap<string, Promise<boolean>>;
  all: Promise<boolean>;
}

/** restore: stores concurrently, each store's steps in order; each store's outcome is there as soon as it has one. */
export function restorePhase(ctx: RunContext): Restoring {
  const drill = drillOf(ctx);
  const stores = new Map(ctx.started.map((store) => [store.name, Promise.withResolvers<boolean>()] as const));
  const all = phase(ctx, 'restore', async () => {
    const outcomes = await Promise.all(
      ctx.started.map(async (store) => {
        const restored = await restoreStore(ctx, store, drill.dir);
        stores.get(store.name)!.resolve(restored);
        return restored;
      }),
    );
    return outcomes.every(Boolean);
  }).then((restored) => restored === true);
  return { stores: new Map([...stores].map(([name, p]) => [name, p.promise])), all };
}

/** One store's steps; what stops it is recorded on the report, never thrown. */
async function restoreStore(ctx: RunContext, store: StartedStore, drillDir: string): Promise<boolean> {
  const spec = ctx.stores[store.name]!;
  const t0 = performance.now();
  try {
    const steps: RestoreStepResult[] = await engineFor(spec).restore(store, spec, ctx.artefacts.filter((a) => a.store === store.name), {
      signal: ctx.signal,
      drillDir,
      onStepStart: (step, description) => ctx.emit('onStepStart', { store: store.name, step, description }),
      onStepEnd: (result) => ctx.emit('onStepEnd', { store: store.name, result }),
    });
    // A fetched artefact is named in the evidence by its source, not by the staging path it was restored from.
    for (const step of steps) step.artefact = ctx.staged.find((x) => x.store === store.name && x.step === step.step)?.ref ?? step.artefact;
    // Restored, but only from artefacts whose every byte was read for the evidence's digest.
    const digested = await ctx.digests.forStore(store.name).then(() => undefined, (err: unknown) => err);
    if (digested) ctx.report.error(digested);
    const status = !digested && steps.every((s) => s.status === 'passed') ? 'passed' : 'failed';
    ctx.report.updateStore(store.name, { steps, restoreDurationMs: performance.now() - t0, status });
    for (const s of steps) if (s.error) ctx.report.error(new RestoreproofError(s.errorCode ?? 'E_RESTORE', `store ${store.name}: ${s.error}`, { hint: 'see stores[].steps[].stderr in the JSON report for the tool output' }));
    return status === 'passed';
  } catch (err) {
    ctx.report.updateStore(store.name, { restoreDurationMs: performance.now() - t0, status: 'failed' });
    ctx.report.error(interruption(ctx, err));
    return false;
  }
}
