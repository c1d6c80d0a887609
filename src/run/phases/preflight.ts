import { RestoreproofError, isCouldNotRun } from '../../errors.ts';
import type { RuntimeName } from '../../drill/types.ts';
import { preflight } from '../preflight.ts';
import { drillOf, phase, runtimeOf, Stop, type RunContext } from '../context.ts';

/**
 * preflight: every tool, image, permission, secret, source and key the run needs, checked before
 * anything is fetched or provisioned; what is missing stops the run here (exit 3).
 */
export async function preflightPhase(ctx: RunContext): Promise<void> {
  const drill = drillOf(ctx);
  const runtime = runtimeOf(ctx);
  const ready = await phase(ctx, 'preflight', async () => {
    const items = await preflight(drill, { runtime: runtime.name as RuntimeName, runId: ctx.runId, signal: ctx.signal, ...(ctx.options.env ? { env: ctx.options.env } : {}) });
    ctx.report.preflight(items);
    const blocking = items.filter((i) => i.status === 'missing' && isCouldNotRun(i.code));
    for (const i of blocking) ctx.report.error(new RestoreproofError(i.code!, `${i.kind} ${i.name}: ${i.detail}`, i.hint ? { hint: i.hint } : {}));
    return blocking.length === 0;
  });
  if (!ready || ctx.signal.aborted) throw new Stop();
}
