import { checkId, checkTitle, type ArtefactCheckRunner, type CheckOutcome, type CheckResult, type CheckRunner } from '../../checks/types.ts';
import { consistencyOutcome } from '../../checks/consistency.ts';
import { isGenericCheck, runGenericCheck } from '../../checks/generic.ts';
import { runReachability } from '../../checks/reachability.ts';
import { storesOf, type CheckSpec } from '../../drill/types.ts';
import { engineFor } from '../../engines/index.ts';
import { InterruptedError, RestoreproofError, errorMessage } from '../../errors.ts';
import { drillOf, phase, type RunContext } from '../context.ts';

type CheckBase = Omit<CheckResult, 'status' | 'expected' | 'actual' | 'message' | 'startedAt' | 'durationMs'>;

/** How many stores' checks run at once: each holds a connection and reads its server. */
const STORES_CHECKED_AT_ONCE = 4;

/** One planned check: where its result goes, which stores' state it reads, and how to run it once its stores restored. */
interface PlannedCheck {
  slot: number;
  /** The stores whose restored state the check reads; `*`: every store (an app's http check); none: the artefacts only (consistency). */
  sees: readonly string[] | '*';
  /** The stores whose artefacts the check reads; `*`: every store's (consistency). */
  readsArtefactsOf?: readonly string[] | '*';
  run(): Promise<CheckResult>;
}

/** Whether the check reads the restored state of `store`. */
const sees = (p: PlannedCheck, store: string) => p.sees === '*' || p.sees.includes(store);

export interface CheckRunOptions {
  /** Each store's restore under way: a store's own checks start as soon as it has restored. */
  restoring?: ReadonlyMap<string, Promise<boolean>>;
  /** Only the checks that can see this store's state: its own, the engine's automatic ones, cross-store checks that read it. */
  seeing?: string;
  /** One check after another, stopping at the first that fails (a mutant is killed once). */
  stopAtFirstFailure?: boolean;
  /** With `seeing`: the target a state mutant damaged in that store, passed on to its engine's checks (`CheckContext.damaged`). */
  damaged?: string;
  /**
   * Only the checks that read this store's state or artefacts, and those that read every store's
   * artefacts (consistency): a child run of `restoreproof mutate` that restored one damaged store
   * beside others already checked.
   */
  readingStore?: string;
  /** Tell the run's reporters about each check (the checks phase does; a mutant's re-run does not). */
  announce?: boolean;
  /** Only the checks that read nothing but artefacts: what can still run when no store started. */
  onlyArtefactChecks?: boolean;
  /**
   * The app was already seen ready on these stores: an http check asks once instead of retrying
   * until its deadline, which waits for an app starting up (a damaged store would make it wait the
   * whole deadline for an answer that one request gives).
   */
  appStarted?: boolean;
  /** Called once a store's own checks are done when no check left to run reads it (it can be torn down). */
  onStoreChecked?: (store: string) => void;
}

/**
 * checks: checks of a store that did not restore are skipped, not run against half a database.
 * Given each store's restore (`restoring`), a store's own checks start as soon as that store has
 * restored, several stores at once; checks that span stores (reachability, http, consistency)
 * run after. The report keeps the drill's order whatever order they finish in. Checks an engine
 * declares as reading only the artefacts run whether or not their store restored; with
 * `onlyArtefactChecks` (no store started) they are all that runs.
 */
export async function checksPhase(ctx: RunContext, restoring?: ReadonlyMap<string, Promise<boolean>>, onlyArtefactChecks = false, onStoreChecked?: (store: string) => void): Promise<void> {
  const { report } = ctx;
  // The phase begins when there is something to check, not while every store is still restoring.
  if (restoring?.size) await Promise.race(restoring.values());
  await phase(ctx, 'checks', async () => {
    const results: CheckResult[] = [];
    try {
      await runChecks(ctx, { ...(restoring ? { restoring } : {}), ...(onStoreChecked ? { onStoreChecked } : {}), announce: true, onlyArtefactChecks }, results);
    } finally {
      for (const result of results) if (result) report.check(result);
    }
    return !results.some((c) => c?.status === 'failed');
  });
}

/**
 * Runs the drill's checks (and the engines' automatic ones) against the started stores and returns
 * their results in the drill's order (a check not run leaves a hole); writes nothing into the
 * report. `results` is filled as checks finish, so a caller keeps what ran if this throws.
 */
export async function runChecks(ctx: RunContext, options: CheckRunOptions = {}, results: CheckResult[] = []): Promise<CheckResult[]> {
  const drill = drillOf(ctx);
  const doc = drill.document;
  const { signal, report, artefacts, started } = ctx;
  const { restoring, seeing } = options;
  const storesByName = new Map(started.map((s) => [s.name, s] as const));
  const restored = (name: string) => report.storeStatus(name) === 'passed' && storesByName.has(name);
  const record = (slot: number, result: CheckResult) => {
    results[slot] = result;
    if (options.announce) ctx.emit('onCheckEnd', result);
    return result;
  };
  const timed = async (slot: number, base: CheckBase, run: () => Promise<CheckOutcome>): Promise<CheckResult> => {
    if (options.announce) ctx.emit('onCheckStart', { id: base.id, name: base.name });
    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    try {
      const outcome = await run();
      const status = outcome.passed ? (outcome.warn ? 'warned' : 'passed') : base.severity === 'warn' ? 'warned' : 'failed';
      return record(slot, { ...base, status, expected: outcome.expected, actual: outcome.actual, message: outcome.message, startedAt, durationMs: performance.now() - t0, ...(outcome.details ? { details: outcome.details } : {}) });
    } catch (err) {
      if (signal.aborted) {
        return record(slot, { ...base, status: 'skipped', expected: '', actual: null, message: `skipped: ${new InterruptedError(signal, 'while it ran; it was cancelled').message}`, startedAt, durationMs: performance.now() - t0 });
      }
      const message = err instanceof RestoreproofError && err.hint ? `${err.message} (${err.hint})` : errorMessage(err);
      return record(slot, { ...base, status: base.severity === 'warn' ? 'warned' : 'failed', expected: '', actual: null, message, startedAt, durationMs: performance.now() - t0 });
    }
  };
  const skipped = (slot: number, base: CheckBase, why: string) => record(slot, { ...base, status: 'skipped', expected: '', actual: null, message: `skipped: ${why}`, startedAt: new Date().toISOString(), durationMs: 0 });

  const lanes = new Map<string, PlannedCheck[]>(started.map((s) => [s.name, []]));
  const across: PlannedCheck[] = [];
  let slot = 0;
  // Checks the engines add by themselves (e.g. every collection of a mongodump archive restored).
  // They run after a failed restore too: what did arrive, and what is missing, is the evidence.
  for (const store of options.onlyArtefactChecks ? [] : started) {
    const spec = ctx.stores[store.name]!;
    for (const auto of engineFor(spec).automaticChecks?.(store, spec, artefacts.filter((a) => a.store === store.name)) ?? []) {
      const at = slot++;
      lanes.get(store.name)!.push({ slot: at, sees: [store.name], run: () => timed(at, { id: auto.id, name: auto.name, type: 'completeness', store: store.name, severity: 'fail' }, () => auto.run(signal)) });
    }
  }
  if (doc.spec.consistency && !options.onlyArtefactChecks) {
    const at = slot++;
    across.push({ slot: at, sees: [], readsArtefactsOf: '*', run: () => timed(at, { id: 'consistency', name: `all artefacts within ${doc.spec.consistency!.window} of each other`, type: 'consistency', store: '*', severity: 'fail' }, async () => consistencyOutcome(artefacts, doc.spec.consistency!.window)) });
  }
  const artefactCheckOf = (check: CheckSpec) =>
    check.type === 'http' || check.type === 'reachability' ? undefined : (engineFor(doc.spec.stores[check.store]!).artefactChecks?.[check.type] as ArtefactCheckRunner<typeof check> | undefined);
  for (const [index, check] of (doc.spec.checks ?? []).entries()) {
    const readsArtefacts = artefactCheckOf(check) !== undefined;
    if (options.onlyArtefactChecks && !readsArtefacts) continue;
    const at = slot++;
    const needs = storesOf(check);
    // An http check reads whatever the app reads: every store; an artefact check none (no mutant changes an artefact).
    const planned: PlannedCheck = { slot: at, sees: check.type === 'http' ? '*' : readsArtefacts ? [] : needs, ...(readsArtefacts ? { readsArtefactsOf: needs } : {}), run: () => runDrillCheck(at, check, index) };
    const lane = needs.length === 1 && !readsArtefacts ? lanes.get(needs[0]!) : undefined;
    (lane ?? across).push(planned);
  }

  async function runDrillCheck(at: number, check: CheckSpec, index: number): Promise<CheckResult> {
    const id = checkId(check, index);
    const name = checkTitle(check);
    const needs = storesOf(check);
    const severity = check.severity ?? 'fail';
    const artefactCheck = artefactCheckOf(check);
    if (artefactCheck && !signal.aborted && check.type !== 'http' && check.type !== 'reachability') {
      return timed(at, { id, name, type: check.type, store: check.store, severity }, () => artefactCheck(check, { drill, runId: ctx.runId, artefacts: artefacts.filter((a) => a.store === check.store), signal }));
    }
    if (signal.aborted || !needs.every(restored)) {
      const why = signal.aborted ? 'run interrupted' : `store ${needs.filter((n) => !restored(n)).join(', ')} did not restore`;
      return skipped(at, { id, name, type: check.type, store: needs.join(','), severity }, why);
    }
    if (isGenericCheck(check)) {
      if (check.type === 'http' && !check.url && !ctx.app) return skipped(at, { id, name, type: check.type, store: 'app', severity }, ctx.appProblem ?? 'no app');
      const database = check.type === 'http' ? undefined : (check.database ?? engineFor(doc.spec.stores[check.store]!).defaultDatabase(doc.spec.stores[check.store]!));
      return timed(at, { id, name, type: check.type, store: check.type === 'http' ? 'app' : check.store, ...(database ? { database } : {}), severity }, () =>
        runGenericCheck(check.type === 'http' && options.appStarted ? { ...check, retry: undefined } : check, { drill, stores: storesByName, ...(database ? { database } : {}), ...(ctx.app ? { app: ctx.app } : {}), ...(ctx.appProblem ? { appProblem: ctx.appProblem } : {}), artefacts: report.report.artefacts, runStartedAt: report.report.startedAt, signal }));
    }
    if (check.type === 'reachability') return timed(at, { id, name, type: check.type, store: needs.join(','), severity }, () => runReachability(check, { drill, stores: storesByName, signal }));
    const spec = ctx.stores[check.store]!;
    const engine = engineFor(spec);
    const database = check.database ?? engine.defaultDatabase(spec);
    const runner = engine.checks[check.type] as CheckRunner<typeof check> | undefined;
    return timed(at, { id, name, type: check.type, store: check.store, ...(engine.capabilities.checksNameDatabase ? { database } : {}), severity }, async () => {
      if (!runner) throw new RestoreproofError('E_CHECK', `engine ${spec.engine} has no ${check.type} check`);
      const damaged = options.damaged !== undefined && check.store === seeing ? { damaged: options.damaged } : {};
      return runner(check, { drill, runId: ctx.runId, store: storesByName.get(check.store)!, stores: storesByName, database, artefacts: artefacts.filter((a) => a.store === check.store), signal, ...damaged });
    });
  }

  if (options.readingStore !== undefined) {
    const store = options.readingStore;
    const reads = (p: PlannedCheck) => sees(p, store) || p.readsArtefactsOf === '*' || !!p.readsArtefactsOf?.includes(store);
    for (const [name, planned] of lanes) lanes.set(name, planned.filter(reads));
    across.splice(0, across.length, ...across.filter(reads));
  }
  if (seeing !== undefined) {
    for (const p of [...(lanes.get(seeing) ?? []), ...across.filter((p) => sees(p, seeing))]) {
      const result = await p.run();
      if (options.stopAtFirstFailure && result.status === 'failed') break;
    }
    return results;
  }
  // A store's checks one after another (one server); stores side by side, a few at a time.
  const limit = semaphore(STORES_CHECKED_AT_ONCE);
  await Promise.all(
    [...lanes].map(async ([store, planned]) => {
      await restoring?.get(store);
      await limit(async () => {
        for (const p of planned) await p.run();
      });
      if (!across.some((p) => sees(p, store))) options.onStoreChecked?.(store);
    }),
  );
  for (const p of across) await p.run();
  return results;
}

/** At most `n` functions running at once; the rest wait their turn in order. */
function semaphore(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    // A finishing function hands its place straight to the next waiter, so none can overtake it.
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** Checks that never ran still appear, so the report lists the whole drill. */
export function recordUnrunChecks(ctx: RunContext): void {
  for (const [index, check] of (ctx.drill?.document.spec.checks ?? []).entries()) {
    const id = checkId(check, index);
    if (ctx.report.report.checks.some((c) => c.id === id)) continue;
    ctx.report.check({ id, name: checkTitle(check), type: check.type, store: storesOf(check).join(','), severity: check.severity ?? 'fail', status: 'skipped', expected: '', actual: null, message: ctx.signal.aborted ? 'skipped: run interrupted' : 'skipped: the drill stopped before checks', startedAt: new Date().toISOString(), durationMs: 0 });
  }
}
