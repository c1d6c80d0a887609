import { runAppPhase } from '../../app/index.ts';
import type { CheckResult } from '../../checks/types.ts';
import { drillOf, phase, runtimeOf, type RunContext } from '../context.ts';

/** app: the application under test on the restored stores (spec.app): migration, then start. */
export async function appPhase(ctx: RunContext, restored: boolean): Promise<void> {
  const drill = drillOf(ctx);
  if (!drill.document.spec.app || ctx.signal.aborted) return;
  if (!restored) {
    ctx.report.skipPhase('app');
    ctx.appProblem = 'the restore failed, so the app was not started';
    return;
  }
  const onCheck = (result: CheckResult) => (ctx.report.check(result), ctx.emit('onCheckEnd', result));
  ctx.app = await phase(ctx, 'app', () => runAppPhase({ runtime: runtimeOf(ctx), drill, runId: ctx.runId, stores: ctx.started, signal: ctx.signal, onCheck, onCheckStart: (id, name) => ctx.emit('onCheckStart', { id, name }) }));
  if (!ctx.app) ctx.appProblem = 'the app did not start (see errors)';
}
