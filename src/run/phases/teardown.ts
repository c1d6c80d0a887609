import { phase, type RunContext } from '../context.ts';
import { recordUnrunChecks } from './checks.ts';

/**
 * What the end of a run undoes, whatever stopped it: disposed in reverse order of registration, so
 * the report first lists what never ran, then the stores and app go (teardown phase), then the
 * staging dir, then the run's guard is released.
 */
export function teardownStack(ctx: RunContext): AsyncDisposableStack {
  const stack = new AsyncDisposableStack();
  stack.defer(async () => {
    await ctx.guard?.finish(ctx.report.report.teardown.status);
  });
  stack.defer(() => removeStaging(ctx));
  stack.defer(async () => {
    await teardownPhase(ctx);
  });
  stack.defer(() => recordUnrun(ctx));
  return stack;
}

/** Phases that never ran are recorded as skipped (a config error skips nothing: nothing applied). */
function recordUnrun(ctx: RunContext): void {
  const { drill, report } = ctx;
  for (const name of ['preflight', 'verify', 'provision', 'restore', ...(drill?.document.spec.app ? ['app' as const] : []), 'checks'] as const) {
    if (!ctx.configError && drill && !report.hasPhase(name)) report.skipPhase(name);
  }
  recordUnrunChecks(ctx);
}

/** teardown: stop the app, then every store; with --keep (and no interruption), keep them and say how to reach them. */
export async function teardownPhase(ctx: RunContext): Promise<void> {
  const { report, started } = ctx;
  await phase(ctx, 'teardown', async () => {
    const app = ctx.app;
    if (started.length === 0 && !app) return true;
    const resources = () => [...(app?.resources ?? []), ...started.flatMap((s) => [...s.resources])];
    if (ctx.options.keep && !ctx.signal.aborted) {
      app?.keep();
      if (app) report.teardown({ keptApp: app.connectionHelp() });
      for (const store of started) {
        store.keep();
        report.updateStore(store.name, { kept: true, connection: store.connectionHelp() });
      }
      report.teardown({ status: 'kept' });
    } else {
      await app?.stop().catch(() => {}); // first: it holds connections to the stores
      // A store stopped early (its checks done) is awaited here: a later stop() waits for the first.
      await Promise.allSettled(started.map((s) => s.stop()));
      report.teardown({ status: resources().every((r) => r.removed) ? 'completed' : 'incomplete' });
    }
    report.teardown({ resources: resources() });
    return report.report.teardown.status !== 'incomplete';
  });
}

/** The staging dir holds decrypted backups: it goes whatever happened, --keep included. */
async function removeStaging(ctx: RunContext): Promise<void> {
  const { report } = ctx;
  const record = await ctx.staging.remove();
  if (record) {
    report.teardownResource(record);
    if (!record.removed) report.teardown({ status: 'incomplete' });
    else if (report.report.teardown.status === 'nothing-to-do') report.teardown({ status: 'completed' });
  }
  report.teardown({ completedAt: new Date().toISOString() });
}
