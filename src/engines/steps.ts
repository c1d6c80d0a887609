import { InterruptedError, stepError } from '../errors.ts';
import type { RestoreContext, RestoreStepResult } from './types.ts';

/** What a step records before it runs: which artefact, which tool with which arguments. */
export type StepBase = Omit<RestoreStepResult, 'status' | 'exitCode' | 'stderr' | 'startedAt' | 'durationMs'>;

/** What running one step yields; the runner adds the timing. */
export type StepOutcome = Omit<RestoreStepResult, keyof StepBase | 'startedAt' | 'durationMs'> & Partial<StepBase>;

export interface RestoreStep {
  base: StepBase;
  /** For progress output (onStepStart). */
  title: string;
  run(): Promise<StepOutcome>;
}

/**
 * A store's restore steps in order, as every engine runs them: after a failed step (or an abort)
 * the rest are recorded as skipped; a thrown error fails the step with its message and code, and
 * a step the abort stopped is recorded as E_INTERRUPTED.
 */
export async function runRestoreSteps(steps: RestoreStep[], context: RestoreContext): Promise<RestoreStepResult[]> {
  const results: RestoreStepResult[] = [];
  let failed = false;
  for (const { base, title, run } of steps) {
    const startedAt = new Date().toISOString();
    if (failed || context.signal.aborted) {
      results.push({ ...base, status: 'skipped', exitCode: null, stderr: '', startedAt, durationMs: 0 });
      continue;
    }
    const t0 = performance.now();
    context.onStepStart?.(base.step, title);
    let result: RestoreStepResult;
    try {
      result = { ...base, ...(await run()), startedAt, durationMs: performance.now() - t0 };
    } catch (err) {
      result = { ...base, status: 'failed', exitCode: null, stderr: '', startedAt, durationMs: performance.now() - t0, ...stepError(err) };
    }
    // A step stopped by the run's abort did not fail on its own: its tool was killed, or its container went with it.
    if (result.status === 'failed' && context.signal.aborted) Object.assign(result, stepError(new InterruptedError(context.signal, `during ${title}`)));
    failed ||= result.status === 'failed';
    results.push(result);
    context.onStepEnd?.(result);
  }
  return results;
}
