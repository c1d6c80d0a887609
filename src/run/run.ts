import { InterruptedError } from '../errors.ts';
import { notScored } from '../mutate/score.ts';
import type { RunReport } from '../report/types.ts';
import { createRunContext, drillOf, interruption, Stop, type RunContext, type RunOptions } from './context.ts';
import { appPhase } from './phases/app.ts';
import { checksPhase } from './phases/checks.ts';
import { evidencePhase } from './phases/evidence.ts';
import { fetchPhase } from './phases/fetch.ts';
import { loadPhase } from './phases/load.ts';
import { mutantsPhase } from './phases/mutants.ts';
import { preflightPhase } from './phases/preflight.ts';
import { provisionPhase } from './phases/provision.ts';
import { reportsPhase } from './phases/reports.ts';
import { restorePhase } from './phases/restore.ts';
import { runtimeStep } from './phases/runtime.ts';
import { teardownStack } from './phases/teardown.ts';
import { verifyPhase } from './phases/verify.ts';

export type { RunOptions };

/** Runs a drill end to end and returns the evidence document. Never throws for drill or config failures. */
export async function runDrill(file: string, options: RunOptions = {}): Promise<RunReport> {
  const ctx = createRunContext(file, options);
  const { signal, report } = ctx;
  const onAbort = () => (ctx.interruptedDuring = ctx.current ?? 'start-up');
  signal.addEventListener('abort', onAbort, { once: true });
  ctx.emit('onRunStart', { runId: ctx.runId, drill: file, runtime: report.report.runtime });
  {
    await using _teardown = teardownStack(ctx);
    await runPhases(ctx);
    if (options.mutants && !report.report.mutation) report.mutation(notScored('no mutation score: the drill stopped before its checks passed; make it pass first', ctx.drill?.document.spec.mutation));
    // Every digest the run started goes into the evidence, whether or not its store got that far.
    for (const { artefact, sha256 } of await ctx.digests.settled()) report.artefactDigest(artefact.store, artefact.step, sha256);
  }
  signal.removeEventListener('abort', onAbort);
  if (signal.aborted && !report.hasError('E_INTERRUPTED')) report.error(new InterruptedError(signal, `during ${ctx.interruptedDuring ?? 'start-up'}`));
  const final = report.finish({ drill: ctx.drill, configError: ctx.configError, interrupted: signal.aborted ? new InterruptedError(signal) : undefined });
  const evidence = await evidencePhase(ctx);
  await reportsPhase(ctx);
  await evidence.finalize();
  for (const r of options.reporters ?? []) await r.onRunEnd?.(final);
  return final;
}

/** `restoreproof mutate`: runs the drill, then scores how much damage to its stores and artefacts its checks notice (report.mutation). */
export function mutateDrill(file: string, options: RunOptions = {}): Promise<RunReport> {
  return runDrill(file, { ...options, mutants: true });
}

/** load → checks (→ mutants); a phase that stops the run throws Stop, having recorded why. */
async function runPhases(ctx: RunContext): Promise<void> {
  try {
    await loadPhase(ctx);
    await runtimeStep(ctx);
    await preflightPhase(ctx);
    await fetchPhase(ctx);
    await verifyPhase(ctx);
    try {
      await provisionPhase(ctx);
    } catch (err) {
      // A store that never started (a server refusing a truncated snapshot) still gets the verdict of the checks that read only its artefact.
      if (err instanceof Stop && !ctx.signal.aborted) await checksPhase(ctx, undefined, true);
      throw err;
    }
    const restoring = restorePhase(ctx);
    if (!drillOf(ctx).document.spec.app) {
      // Each store's checks start when that store has restored, while the others still restore; a
      // store nothing else will read is stopped then too, so its teardown is not left for the end
      // (not with mutants, which damage the stores after the checks, nor with --keep).
      const stopEarly = ctx.options.mutants || ctx.options.keep ? undefined : (name: string) => void ctx.started.find((s) => s.name === name)?.stop().catch(() => {});
      await Promise.all([restoring.all, checksPhase(ctx, restoring.stores, false, stopEarly)]);
      if (ctx.options.mutants) await mutantsPhase(ctx);
      return;
    }
    // An app (and its migration) runs on every restored store, and the checks see what it left.
    await appPhase(ctx, await restoring.all);
    if (ctx.signal.aborted) throw new Stop();
    await checksPhase(ctx);
    if (ctx.options.mutants) await mutantsPhase(ctx);
  } catch (err) {
    if (!(err instanceof Stop)) ctx.report.error(interruption(ctx, err));
  }
}
