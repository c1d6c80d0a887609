import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreSpec } from '../../drill/types.ts';
import { engineFor } from '../../engines/index.ts';
import type { VerifiedArtefact } from '../../engines/types.ts';
import { errorMessage } from '../../errors.ts';
import { artefactDamages, damagedCopy, type ArtefactDamage, type DamagedCopy } from '../../mutate/damage.ts';
import type { MutantRecord } from '../../report/types.ts';
import { createRunContext, drillOf, Stop, type RunContext } from '../context.ts';
import { appPhase } from './app.ts';
import { runChecks } from './checks.ts';
import { provisionPhase } from './provision.ts';
import { restorePhase } from './restore.ts';
import { teardownPhase } from './teardown.ts';
import { inspectStep } from './verify.ts';

const damageWords: Record<ArtefactDamage, { doing: (what: string, copy: DamagedCopy) => string; hint: (store: string) => string }> = {
  truncate: {
    doing: (what, copy) => `truncating ${what} at half its size (${copy.offset} of ${copy.size} bytes)`,
    hint: (store) => `add a baseline or count check on ${store} that the lost half would break`,
  },
  'flip-byte': {
    doing: (what, copy) => `flipping the byte at offset ${copy.offset} of ${what}`,
    hint: (store) => `add a check that reads every row or object of ${store} (baseline, auditChain, objects with sha256) or its integrity check`,
  },
};

/** The artefact of a store a mutant damages: its largest local one (a store restored from several steps gets one mutant per kind). */
function artefactToDamage(artefacts: readonly VerifiedArtefact[], store: string): VerifiedArtefact | undefined {
  return artefacts.filter((a) => a.store === store && !a.info.fetchedInPod).sort((a, b) => b.info.size - a.info.size || a.step - b.step)[0];
}

/**
 * Artefact mutants: for each kind of damage, every store's artefact is copied into the run's
 * staging dir and damaged there, and the drill restores the copies once, into fresh stores of a
 * child run; each store's mutant is killed by its own verify, restore or checks. The sources are
 * only ever read.
 */
export async function artefactMutants(ctx: RunContext, onMutant: (m: MutantRecord) => void): Promise<MutantRecord[]> {
  const out: MutantRecord[] = [];
  const targets = Object.keys(ctx.stores).flatMap((name) => {
    const artefact = artefactToDamage(ctx.artefacts, name);
    return artefact ? [{ name, artefact }] : [];
  });
  if (targets.length === 0) return out;
  const root = join(await ctx.staging.ensure(), 'mutants');
  for (const [n, damage] of artefactDamages.entries()) {
    if (ctx.signal.aborted) break;
    const t0 = performance.now();
    const dir = join(root, damage);
    const records = new Map<string, MutantRecord>();
    const stores: Record<string, StoreSpec> = {};
    for (const { name, artefact } of targets) {
      const ref = ctx.report.report.artefacts.find((a) => a.store === name && a.step === artefact.step)?.ref ?? artefact.info.ref;
      const base = { id: `${damage}:${name}/restore[${artefact.step}]`, kind: `${damage}-artefact`, store: name, target: ref, description: `damaging ${ref}`, hint: damageWords[damage].hint(name) };
      try {
        const copy = await damagedCopy(artefact.info.path, artefact.info.kind, damage, join(dir, name));
        const what = copy.file ? `${copy.file} in ${ref}` : ref;
        records.set(name, { ...base, target: copy.file ? `${ref}/${copy.file}` : ref, description: damageWords[damage].doing(what, copy), status: 'survived', durationMs: 0 });
        const spec = ctx.stores[name]!;
        stores[name] = { ...spec, restore: spec.restore.map((step, index) => (index === artefact.step ? { ...step, artefact: copy.path } : step)) } as StoreSpec;
      } catch (err) {
        const record: MutantRecord = { ...base, status: 'not-run', error: `the damaged copy could not be made: ${errorMessage(err)}`, durationMs: performance.now() - t0 };
        out.push(record);
        onMutant(record);
      }
    }
    try {
      if (Object.keys(stores).length) await restoreDamaged(ctx, `${ctx.runId}-m${n + 1}`, stores, records);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    for (const record of records.values()) {
      record.durationMs = performance.now() - t0;
      out.push(record);
      onMutant(record);
    }
  }
  return out;
}

/**
 * A child run over the damaged stores: verify, provision, restore, checks, teardown. Its report is
 * its own and is dropped; what each store's mutant died of goes into `records`.
 */
async function restoreDamaged(ctx: RunContext, runId: string, stores: Record<string, StoreSpec>, records: Map<string, MutantRecord>): Promise<void> {
  const drill = drillOf(ctx);
  const child = createRunContext(ctx.file, { ...ctx.options, runId, reporters: [], keep: false, ...(ctx.options.signal ? { signal: ctx.options.signal } : {}) });
  const kill = (store: string, by: string) => Object.assign(records.get(store)!, { status: 'killed', killedBy: by });
  child.drill = drill;
  child.runtime = ctx.runtime;
  for (const [name, spec] of Object.entries(stores)) {
    try {
      for (const index of spec.restore.keys()) {
        const verified = await inspectStep(name, spec, index, drill.dir, { hash: false });
        if (verified) child.artefacts.push(verified);
      }
      child.stores[name] = spec;
      const record = ctx.report.report.stores.find((s) => s.name === name)!;
      child.report.store({ ...record, status: 'skipped', steps: [], restoreDurationMs: 0, kept: false });
    } catch {
      kill(name, 'verify');
    }
  }
  if (Object.keys(child.stores).length === 0) return;
  try {
    // A store that would not start on its damaged artefact (one placed before the server starts) noticed it.
    await provisionPhase(child).catch((err: unknown) => {
      if (!(err instanceof Stop)) throw err;
    });
    for (const name of Object.keys(child.stores)) {
      if (child.started.some((s) => s.name === name)) continue;
      if (engineFor(stores[name]!).capabilities.restoresBeforeStart) kill(name, 'provision');
      else Object.assign(records.get(name)!, { status: 'not-run', error: `the store for the damaged copy did not start: ${child.report.report.errors[0]?.message ?? 'see the run log'}` });
    }
    if (child.started.length === 0) return;
    const restoring = restorePhase(child);
    const restored = await restoring.all;
    if (drill.document.spec.app) await appPhase(child, restored);
    const results = await runChecks(child, {});
    for (const { name } of child.started) {
      if (child.report.storeStatus(name) !== 'passed') {
        kill(name, 'restore');
        continue;
      }
      // `app` (an http check) and `*` (consistency) read every store.
      const killer = results.find((r) => r?.status === 'failed' && ['app', '*', name].some((s) => r.store.split(',').includes(s)));
      if (killer) kill(name, killer.id);
    }
  } catch (err) {
    // The child stopped: what it could not do is not the damage noticed.
    for (const name of Object.keys(child.stores)) {
      const record = records.get(name)!;
      if (record.status === 'survived') Object.assign(record, { status: 'not-run', error: `the damaged copy could not be restored: ${child.report.report.errors[0]?.message ?? errorMessage(err)}` });
    }
  } finally {
    await teardownPhase(child);
    await child.staging.remove();
  }
}
