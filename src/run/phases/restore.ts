import { engineFor } from '../../engines/index.ts';
import type { RestoreStepResult } from '../../engines/types.ts';
import { RestoreproofError } from '../../errors.ts';
import { drillOf, phase, type RunContext } from '../context.ts';

/** restore: stores concurrently, each store's steps in order. True when every store restored. */
export async function restorePhase(ctx: RunContext): Promise<boolean> {
  const drill = drillOf(ctx);
  const restored = await phase(ctx, 'restore', async () => {
    const outcomes = await Promise.all(
      ctx.started.map(async (store) => {
        const spec = ctx.stores[store.name]!;
        const t0 = performance.now();
        const steps: RestoreStepResult[] = await engineFor(spec).restore(store, spec, ctx.artefacts.filter((a) => a.store === store.name), {
          signal: ctx.signal,
          drillDir: drill.dir,
          onStepStart: (step, description) => ctx.emit('onStepStart', { store: store.name, step, description }),
          onStepEnd: (result) => ctx.emit('onStepEnd', { store: store.name, result }),
        });
        // A fetched artefact is named in the evidence by its source, not by the staging path it was restored from.
        for (const step of steps) step.artefact = ctx.staged.find((x) => x.store === store.name && x.step === step.step)?.ref ?? step.artefact;
        const status = steps.every((s) => s.status === 'passed') ? 'passed' : 'failed';
        ctx.report.updateStore(store.name, { steps, restoreDurationMs: performance.now() - t0, status });
        for (const s of steps) if (s.error) ctx.report.error(new RestoreproofError(s.errorCode ?? 'E_RESTORE', `store ${store.name}: ${s.error}`, { hint: 'see stores[].steps[].stderr in the JSON report for the tool output' }));
        return status === 'passed';
      }),
    );
    return outcomes.every(Boolean);
  });
  return restored === true;
}
