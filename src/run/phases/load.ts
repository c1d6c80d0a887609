import { DrillConfigError } from '../../errors.ts';
import { loadDrill } from '../../drill/load.ts';
import { phase, Stop, type RunContext } from '../context.ts';

/** load: a config error stops here with exit 2, before anything is touched. */
export async function loadPhase(ctx: RunContext): Promise<void> {
  const { signal, options } = ctx;
  ctx.drill = await phase(ctx, 'load', async () => {
    try {
      return await loadDrill(ctx.file, { ...(options.env ? { env: options.env } : {}), signal });
    } catch (err) {
      if (signal.aborted) return undefined;
      ctx.configError = true;
      if (err instanceof DrillConfigError) {
        ctx.report.configIssues(err.issues);
        return undefined;
      }
      throw err;
    }
  });
  if (!ctx.drill) throw new Stop();
  ctx.report.drillLoaded(ctx.drill);
  ctx.stores = ctx.drill.document.spec.stores;
}
