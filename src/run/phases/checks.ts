import { checkId, checkTitle, type CheckOutcome, type CheckResult, type CheckRunner } from '../../checks/types.ts';
import { consistencyOutcome } from '../../checks/consistency.ts';
import { isGenericCheck, runGenericCheck } from '../../checks/generic.ts';
import { runReachability } from '../../checks/reachability.ts';
import { storesOf } from '../../drill/types.ts';
import { engineFor } from '../../engines/index.ts';
import { InterruptedError, RestoreproofError, errorMessage } from '../../errors.ts';
import { drillOf, phase, type RunContext } from '../context.ts';

type CheckBase = Omit<CheckResult, 'status' | 'expected' | 'actual' | 'message' | 'startedAt' | 'durationMs'>;

/** checks: checks of a store that did not restore are skipped, not run against half a database. */
export async function checksPhase(ctx: RunContext): Promise<void> {
  const drill = drillOf(ctx);
  const doc = drill.document;
  const { signal, report, artefacts, started } = ctx;
  await phase(ctx, 'checks', async () => {
    const storesByName = new Map(started.map((s) => [s.name, s] as const));
    const restored = (name: string) => report.storeStatus(name) === 'passed' && storesByName.has(name);
    const record = (result: CheckResult) => {
      report.check(result);
      ctx.emit('onCheckEnd', result);
    };
    const timed = async (base: CheckBase, run: () => Promise<CheckOutcome>) => {
      ctx.emit('onCheckStart', { id: base.id, name: base.name });
      const t0 = performance.now();
      const startedAt = new Date().toISOString();
      try {
        const outcome = await run();
        const status = outcome.passed ? (outcome.warn ? 'warned' : 'passed') : base.severity === 'warn' ? 'warned' : 'failed';
        record({ ...base, status, expected: outcome.expected, actual: outcome.actual, message: outcome.message, startedAt, durationMs: performance.now() - t0, ...(outcome.details ? { details: outcome.details } : {}) });
      } catch (err) {
        if (signal.aborted) {
          record({ ...base, status: 'skipped', expected: '', actual: null, message: `skipped: ${new InterruptedError(signal, 'while it ran; it was cancelled').message}`, startedAt, durationMs: performance.now() - t0 });
          return;
        }
        const message = err instanceof RestoreproofError && err.hint ? `${err.message} (${err.hint})` : errorMessage(err);
        record({ ...base, status: base.severity === 'warn' ? 'warned' : 'failed', expected: '', actual: null, message, startedAt, durationMs: performance.now() - t0 });
      }
    };

    // Checks the engines add by themselves (e.g. every collection of a mongodump archive restored).
    // They run after a failed restore too: what did arrive, and what is missing, is the evidence.
    for (const store of started) {
      const spec = ctx.stores[store.name]!;
      for (const auto of engineFor(spec).automaticChecks?.(store, spec, artefacts.filter((a) => a.store === store.name)) ?? []) {
        await timed({ id: auto.id, name: auto.name, type: 'completeness', store: store.name, severity: 'fail' }, () => auto.run(signal));
      }
    }
    if (doc.spec.consistency) {
      await timed({ id: 'consistency', name: `all artefacts within ${doc.spec.consistency.window} of each other`, type: 'consistency', store: '*', severity: 'fail' }, async () => consistencyOutcome(artefacts, doc.spec.consistency!.window));
    }

    for (const [index, check] of (doc.spec.checks ?? []).entries()) {
      const id = checkId(check, index);
      const name = checkTitle(check);
      const needs = storesOf(check);
      const severity = check.severity ?? 'fail';
      if (signal.aborted || !needs.every(restored)) {
        const why = signal.aborted ? 'run interrupted' : `store ${needs.filter((n) => !restored(n)).join(', ')} did not restore`;
        record({ id, name, type: check.type, store: needs.join(','), severity, status: 'skipped', expected: '', actual: null, message: `skipped: ${why}`, startedAt: new Date().toISOString(), durationMs: 0 });
        continue;
      }
      if (isGenericCheck(check)) {
        if (check.type === 'http' && !check.url && !ctx.app) {
          record({ id, name, type: check.type, store: 'app', severity, status: 'skipped', expected: '', actual: null, message: `skipped: ${ctx.appProblem ?? 'no app'}`, startedAt: new Date().toISOString(), durationMs: 0 });
          continue;
        }
        const database = check.type === 'http' ? undefined : (check.database ?? engineFor(doc.spec.stores[check.store]!).defaultDatabase(doc.spec.stores[check.store]!));
        await timed({ id, name, type: check.type, store: check.type === 'http' ? 'app' : check.store, ...(database ? { database } : {}), severity }, () =>
          runGenericCheck(check, { drill, stores: storesByName, ...(database ? { database } : {}), ...(ctx.app ? { app: ctx.app } : {}), ...(ctx.appProblem ? { appProblem: ctx.appProblem } : {}), artefacts: report.report.artefacts, runStartedAt: report.report.startedAt, signal }));
        continue;
      }
      if (check.type === 'reachability') {
        await timed({ id, name, type: check.type, store: needs.join(','), severity }, () => runReachability(check, { drill, stores: storesByName, signal }));
        continue;
      }
      const spec = ctx.stores[check.store]!;
      const engine = engineFor(spec);
      const database = check.database ?? engine.defaultDatabase(spec);
      const runner = engine.checks[check.type] as CheckRunner<typeof check> | undefined;
      await timed({ id, name, type: check.type, store: check.store, ...(engine.capabilities.checksNameDatabase ? { database } : {}), severity }, async () => {
        if (!runner) throw new RestoreproofError('E_CHECK', `engine ${spec.engine} has no ${check.type} check`);
        return runner(check, { drill, store: storesByName.get(check.store)!, stores: storesByName, database, signal });
      });
    }
    return !report.report.checks.some((c) => c.status === 'failed');
  });
}

/** Checks that never ran still appear, so the report lists the whole drill. */
export function recordUnrunChecks(ctx: RunContext): void {
  for (const [index, check] of (ctx.drill?.document.spec.checks ?? []).entries()) {
    const id = checkId(check, index);
    if (ctx.report.report.checks.some((c) => c.id === id)) continue;
    ctx.report.check({ id, name: checkTitle(check), type: check.type, store: storesOf(check).join(','), severity: check.severity ?? 'fail', status: 'skipped', expected: '', actual: null, message: ctx.signal.aborted ? 'skipped: run interrupted' : 'skipped: the drill stopped before checks', startedAt: new Date().toISOString(), durationMs: 0 });
  }
}
