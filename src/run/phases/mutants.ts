import type { CheckResult } from '../../checks/types.ts';
import { storesOf } from '../../drill/types.ts';
import { forgetCounts } from '../../engines/counts.ts';
import { engineFor } from '../../engines/index.ts';
import type { StateMutant } from '../../engines/types.ts';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import { acceptedNotMade, acceptRule, notScored, scoreMutants, type MutationSpec } from '../../mutate/score.ts';
import type { MutantRecord } from '../../report/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { parseDuration } from '../../util/duration.ts';
import { drillOf, phase, type RunContext } from '../context.ts';
import { artefactMutants } from './artefact-mutants.ts';
import { runChecks } from './checks.ts';

/** Ends mutation early: the named store is no longer the restored one. */
class UndoFailed extends Error {}

/**
 * mutants (`restoreproof mutate`, `run --mutants`): once the drill has passed as it is, each store
 * whose engine declares mutants is damaged one way at a time, the checks that can see it re-run
 * (stopping at the first that fails: it killed the mutant), and the damage undone. Then each kind
 * of artefact damage is restored once, in run-owned copies. Writes the score into the report.
 */
export async function mutantsPhase(ctx: RunContext): Promise<void> {
  const drill = drillOf(ctx);
  const spec = drill.document.spec.mutation as MutationSpec | undefined;
  const { report } = ctx;
  const failedChecks = report.report.checks.filter((c) => c.status === 'failed');
  const unrestored = Object.keys(ctx.stores).filter((name) => report.storeStatus(name) !== 'passed').map((name) => ({ name }));
  if (failedChecks.length || unrestored.length || report.report.errors.length || ctx.signal.aborted) {
    const why = unrestored.length ? `store ${unrestored.map((s) => s.name).join(', ')} did not restore` : failedChecks.length ? `check ${failedChecks.map((c) => c.id).join(', ')} failed` : ctx.signal.aborted ? 'the run was interrupted' : 'the run recorded an error';
    report.mutation(notScored(`no mutation score: the drill fails without any damage (${why}); make it pass first`, spec));
    return;
  }
  const t0 = performance.now();
  const mutants: MutantRecord[] = [];
  const notes = new Map<string, string>();
  const checkedAfter = new Map<string, 'passed' | 'failed'>();
  let stopped: string | undefined;
  await phase(ctx, 'mutants', async () => {
    try {
      for (const store of ctx.started) await mutateStore(ctx, store, mutants, notes, checkedAfter);
    } catch (err) {
      if (!(err instanceof UndoFailed)) throw err;
      stopped = err.message;
      report.error(new RestoreproofError('E_MUTANT_UNDO', err.message, { hint: 'the remaining mutants did not run; the store is torn down as usual' }));
      return false;
    }
    if (!ctx.signal.aborted) mutants.push(...(await artefactMutants(ctx, (m) => ctx.emit('onMutantEnd', m))));
    return true;
  });
  const stores = ctx.started.map((s) => ({ name: s.name, ...(notes.has(s.name) ? { note: notes.get(s.name)! } : {}), ...(checkedAfter.has(s.name) ? { checksAfterUndo: checkedAfter.get(s.name)! } : {}) }));
  report.mutation(scoreMutants(mutants, spec, stores, { durationMs: performance.now() - t0, ...(stopped ? { stopped } : {}) }));
}

/** The databases a store's checks and restore name, for the engine to damage in turn. */
function databasesOf(ctx: RunContext, storeName: string): string[] {
  const spec = ctx.stores[storeName]!;
  const restoredInto = ctx.report.storeRecord(storeName)?.steps.map((s) => s.database) ?? [];
  const checked = (drillOf(ctx).document.spec.checks ?? []).filter((c) => storesOf(c).includes(storeName)).map((c) => (c as { database?: string }).database);
  return [...new Set([...restoredInto, ...checked, engineFor(spec).defaultDatabase(spec)].filter((d): d is string => typeof d === 'string' && d !== ''))];
}

async function mutateStore(ctx: RunContext, store: StartedStore, out: MutantRecord[], notes: Map<string, string>, checkedAfter: Map<string, 'passed' | 'failed'>): Promise<void> {
  const spec = ctx.stores[store.name]!;
  const declared = engineFor(spec).mutants;
  if (!declared) {
    notes.set(store.name, `engine ${spec.engine} declares no state mutants; only its artefact is damaged`);
    return;
  }
  const rpo = drillOf(ctx).document.spec.objectives?.rpo;
  const list = await declared.state(store, spec, { databases: databasesOf(ctx, store.name), ...(rpo ? { rpoMs: parseDuration(rpo) } : {}), signal: ctx.signal });
  const accept = acceptRule(drillOf(ctx).document.spec.mutation as MutationSpec | undefined);
  for (const mutant of list) {
    if (ctx.signal.aborted) return;
    const record = acceptedNotMade(accept, { id: mutant.id, kind: mutant.kind, store: store.name, target: mutant.target, description: mutant.description, hint: mutant.hint }) ?? (await runStateMutant(ctx, store, mutant));
    out.push(record);
    ctx.emit('onMutantEnd', record);
  }
  if (list.length === 0 || ctx.signal.aborted) return;
  // Every undo ran: the store is the restored one again only if the checks that passed before pass again.
  const after = await runChecks(ctx, { seeing: store.name, appStarted: true });
  const failing = after.filter((r) => r?.status === 'failed');
  checkedAfter.set(store.name, failing.length ? 'failed' : 'passed');
  if (failing.length) throw new UndoFailed(`after its mutants were undone, store ${store.name} fails check ${failing.map((r) => r.id).join(', ')} that passed before: an undo did not put back what was there`);
}

/** apply → the checks that can see the store, stopping at the first failure → undo. */
async function runStateMutant(ctx: RunContext, store: StartedStore, mutant: StateMutant): Promise<MutantRecord> {
  const storeName = store.name;
  const t0 = performance.now();
  const base = { id: mutant.id, kind: mutant.kind, store: storeName, target: mutant.target, description: mutant.description, hint: mutant.hint };
  let undo: () => Promise<void>;
  try {
    undo = await mutant.apply(ctx.signal);
  } catch (err) {
    forgetCounts(store);
    return { ...base, status: 'not-run', error: `the damage could not be made: ${errorMessage(err)}`, durationMs: performance.now() - t0 };
  }
  // Counts the checks shared before the damage are not what the store holds now (nor after the undo).
  forgetCounts(store);
  let results: CheckResult[] = [];
  let checkError: unknown;
  try {
    results = await runChecks(ctx, { seeing: storeName, damaged: mutant.target, stopAtFirstFailure: true, appStarted: true });
  } catch (err) {
    checkError = err;
  }
  try {
    await undo();
    forgetCounts(store);
  } catch (err) {
    throw new UndoFailed(`mutant ${mutant.id}: its undo failed, so store ${storeName} is no longer the restored one and mutation stopped: ${errorMessage(err)}`);
  }
  if (checkError) throw checkError;
  const killer = results.find((r) => r?.status === 'failed');
  return { ...base, status: killer ? 'killed' : 'survived', ...(killer ? { killedBy: killer.id } : {}), durationMs: performance.now() - t0 };
}
