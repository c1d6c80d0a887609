import { randomBytes } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storesOf, type ArtefactSourceSpec, type StoreSpec } from '../../drill/types.ts';
import { engineFor } from '../../engines/index.ts';
import type { VerifiedArtefact } from '../../engines/types.ts';
import { ArtefactError, errorMessage } from '../../errors.ts';
import { artefactDamages, damagedCopy, type ArtefactDamage, type DamagedCopy } from '../../mutate/damage.ts';
import { acceptedNotMade, acceptRule, type MutationSpec } from '../../mutate/score.ts';
import type { MutantRecord } from '../../report/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { fetchArtefacts, fetchJobsOf } from '../../sources/fetch.ts';
import { verifyBundle } from '../../sources/integrity.ts';
import { walkFiles } from '../../sources/local.ts';
import { NoPreviousBackup } from '../../sources/locate.ts';
import type { FetchJob } from '../../sources/staging.ts';
import { Staging } from '../../sources/staging.ts';
import { sha256File } from '../../util/hash.ts';
import { removeTree } from '../../util/remove-tree.ts';
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

/** One store's mutant of one kind: its record, and the store as the child run restores it (none: already decided before any restore). */
interface Prepared {
  record: MutantRecord;
  spec?: StoreSpec;
}

/** The store with one step's artefact replaced by `path`. */
function withArtefact(spec: StoreSpec, step: number, path: string): StoreSpec {
  return { ...spec, restore: spec.restore.map((s, index) => (index === step ? { ...s, artefact: path } : s)) } as StoreSpec;
}

/**
 * Whether the fetch would refuse a damaged copy of an unpacked bundle (`spec` as the drill wrote it,
 * not with the staged path): a step that unpacks with
 * unpack.manifest or unpack.sums checks every file against the list that travels inside the backup,
 * so damage to the bundle's files (or to the list) never reaches a store. Only a copy holding the
 * list at its root is the bundle as the list names it (unpack.member picks a part of it).
 */
async function bundleRefuses(spec: StoreSpec, step: number, copy: string, ref: string): Promise<boolean> {
  const artefact = (spec.restore[step] as { artefact?: string | ArtefactSourceSpec } | undefined)?.artefact;
  const unpack = typeof artefact === 'object' ? artefact.unpack : undefined;
  const list = unpack && !unpack.member ? (unpack.manifest ?? unpack.sums) : undefined;
  if (!list || !(await stat(join(copy, list)).then((s) => s.isFile(), () => false))) return false;
  const files = new Map<string, { sha256: string; size: number }>();
  for await (const f of walkFiles(copy, ref)) files.set(f.relative, { sha256: await sha256File(f.path), size: f.size });
  try {
    await verifyBundle(ref, copy, list, unpack!.manifest ? 'manifest' : 'sums', files);
    return false;
  } catch (err) {
    if (err instanceof ArtefactError) return true;
    throw err;
  }
}

/** A mutant the drill accepts is not made (its store would start a server in the child run for nothing). */
function notMade(ctx: RunContext, base: Omit<MutantRecord, 'status' | 'durationMs'>): Prepared | undefined {
  const record = acceptedNotMade(acceptRule(drillOf(ctx).document.spec.mutation as MutationSpec | undefined), base);
  return record ? { record } : undefined;
}

/** Copies each store's artefact into `dir` and damages the copy. */
async function damagedStores(ctx: RunContext, damage: ArtefactDamage, dir: string): Promise<Prepared[]> {
  const prepared: Prepared[] = [];
  for (const name of Object.keys(ctx.stores)) {
    const artefact = artefactToDamage(ctx.artefacts, name);
    if (!artefact) continue;
    const ref = ctx.report.report.artefacts.find((a) => a.store === name && a.step === artefact.step)?.ref ?? artefact.info.ref;
    const base = { id: `${damage}:${name}/restore[${artefact.step}]`, kind: `${damage}-artefact`, store: name, target: ref, description: `damaging ${ref}`, hint: damageWords[damage].hint(name), durationMs: 0 };
    const accepted = notMade(ctx, base);
    if (accepted) {
      prepared.push(accepted);
      continue;
    }
    try {
      const copy = await damagedCopy(artefact.info.path, artefact.info.kind, damage, join(dir, name));
      const what = copy.file ? `${copy.file} in ${ref}` : ref;
      const record: MutantRecord = { ...base, target: copy.file ? `${ref}/${copy.file}` : ref, description: damageWords[damage].doing(what, copy), status: 'survived' };
      if (copy.file && (await bundleRefuses(drillOf(ctx).document.spec.stores[name]!, artefact.step, copy.path, ref))) prepared.push({ record: { ...record, status: 'killed', killedBy: 'fetch' } });
      else prepared.push({ record, spec: withArtefact(ctx.stores[name]!, artefact.step, copy.path) });
    } catch (err) {
      prepared.push({ record: { ...base, status: 'not-run', error: `the damaged copy could not be made: ${errorMessage(err)}` } });
    }
  }
  return prepared;
}

/** A step fetched again another way (a wrong key, the previous backup) into a staging dir of its own. */
async function refetch(ctx: RunContext, job: FetchJob, runId: string, stagings: Staging[], previous = false): Promise<string> {
  const staging = new Staging(runId);
  stagings.push(staging);
  const [staged] = await fetchArtefacts([job], { runId, drillDir: drillOf(ctx).dir, signal: ctx.signal, staging, ...(previous ? { previous } : {}) });
  return staged!.path;
}

const refOf = (ctx: RunContext, job: FetchJob) => ctx.report.report.artefacts.find((a) => a.store === job.store && a.step === job.step)?.ref ?? job.spec.source;

/**
 * Each store's first step that decrypts, fetched again with a key of the right kind that is not
 * the drill's (a fresh age identity, a random passphrase).
 */
async function wrongKeyStores(ctx: RunContext, dir: string, runId: string, stagings: Staging[]): Promise<Prepared[]> {
  const prepared: Prepared[] = [];
  const done = new Set<string>();
  for (const job of fetchJobsOf(drillOf(ctx).document.spec.stores)) {
    const decrypt = job.spec.decrypt;
    if (!decrypt || done.has(job.store)) continue;
    done.add(job.store);
    const ref = refOf(ctx, job);
    const base = { id: `wrong-key:${job.store}/restore[${job.step}]`, kind: 'wrong-key-artefact', store: job.store, target: ref, description: `decrypting ${ref} with a wrong key`, hint: `add checks on ${job.store} that what a wrong key decrypts to would fail (counts, a baseline)`, durationMs: 0 };
    const accepted = notMade(ctx, base);
    if (accepted) {
      prepared.push(accepted);
      continue;
    }
    try {
      await mkdir(dir, { recursive: true });
      const keyFile = join(dir, `${job.store}.key`);
      const { generateIdentity } = await import('age-encryption');
      await writeFile(keyFile, decrypt.age?.identity ? await generateIdentity() : randomBytes(24).toString('base64url'), { mode: 0o600 });
      const wrong = decrypt.openssl ? { openssl: { ...decrypt.openssl, passphrase: { file: keyFile } } } : decrypt.age?.identity ? { age: { ...decrypt.age, identity: { file: keyFile } } } : { age: { ...decrypt.age, passphrase: { file: keyFile } } };
      let path: string;
      try {
        path = await refetch(ctx, { ...job, spec: { ...job.spec, decrypt: wrong } as typeof job.spec }, runId, stagings);
      } catch {
        prepared.push({ record: { ...base, status: 'killed', killedBy: 'fetch' } });
        continue;
      }
      prepared.push({ record: { ...base, status: 'survived' }, spec: withArtefact(ctx.stores[job.store]!, job.step, path) });
    } catch (err) {
      prepared.push({ record: { ...base, status: 'not-run', error: `the wrong key could not be tried: ${errorMessage(err)}` } });
    }
  }
  return prepared;
}

/**
 * Each step a `select: latest` rule picks, fetched as the backup before the newest (the previous
 * night): a drill that cannot tell last night's backup from an older one proves nothing about
 * last night. A source with one backup to choose from has no such mutant.
 */
async function previousStores(ctx: RunContext, runId: string, stagings: Staging[]): Promise<Prepared[]> {
  const prepared: Prepared[] = [];
  const done = new Set<string>();
  for (const job of fetchJobsOf(drillOf(ctx).document.spec.stores)) {
    if (!job.spec.select?.latest || done.has(job.store)) continue;
    done.add(job.store);
    const ref = refOf(ctx, job);
    const base = { id: `previous:${job.store}/restore[${job.step}]`, kind: 'previous-artefact', store: job.store, target: ref, description: `restoring the backup before ${ref} (the one \`latest\` did not pick)`, hint: `add a freshness check on ${job.store}, or counts that grow between backups`, durationMs: 0 };
    const accepted = notMade(ctx, base);
    if (accepted) {
      prepared.push(accepted);
      continue;
    }
    try {
      const path = await refetch(ctx, job, runId, stagings, true);
      prepared.push({ record: { ...base, status: 'survived' }, spec: withArtefact(ctx.stores[job.store]!, job.step, path) });
    } catch (err) {
      if (err instanceof NoPreviousBackup) continue;
      prepared.push({ record: { ...base, status: 'not-run', error: `the previous backup could not be fetched: ${errorMessage(err)}` } });
    }
  }
  return prepared;
}

const kinds = [...artefactDamages, 'wrong-key', 'previous'] as const;

/** The stores some check reads together with another (a reachability check's two stores). */
function storesSharingChecks(ctx: RunContext): Set<string> {
  return new Set((drillOf(ctx).document.spec.checks ?? []).map(storesOf).filter((names) => names.length > 1).flat());
}

/** How many kinds of artefact damage are restored at once, each in its own child run. */
const KINDS_AT_ONCE = 2;

/**
 * Artefact mutants: for each kind of damage, every store's artefact is copied into the run's
 * staging dir and damaged there (or fetched again with a wrong key), and the drill restores the
 * copies once, into fresh stores of a child run; each store's mutant is killed by its own fetch,
 * verify, restore or checks. The sources are only ever read. Runs after the state mutants: the
 * run's own stores are the restored ones again (their checks passed after the undos), and a store
 * restored alone reads them beside it.
 */
export async function artefactMutants(ctx: RunContext, onMutant: (m: MutantRecord) => void): Promise<MutantRecord[]> {
  const root = join(await ctx.staging.ensure(), 'mutants');
  const runKind = async (kind: (typeof kinds)[number], n: number): Promise<MutantRecord[]> => {
    if (ctx.signal.aborted) return [];
    const t0 = performance.now();
    const dir = join(root, kind);
    const runId = `${ctx.runId}-m${n + 1}`;
    const stagings: Staging[] = [];
    try {
      const prepared = kind === 'wrong-key' ? await wrongKeyStores(ctx, dir, runId, stagings) : kind === 'previous' ? await previousStores(ctx, runId, stagings) : await damagedStores(ctx, kind, dir);
      const stores = Object.fromEntries(prepared.flatMap((p) => (p.spec ? [[p.record.store, p.spec] as const] : [])));
      const records = new Map(prepared.map((p) => [p.record.store, p.record] as const));
      // A store a check reads together with another (reachability) is restored from its damaged
      // copy beside the others' good stores, in a child run of its own: beside their damaged
      // copies, that check would be skipped once another restore failed and never see this damage.
      // The good stores beside it are this run's own, so no server starts again for them (unless
      // an app runs on them). The rest restore damaged together. All of these child runs go at once.
      const spanning = storesSharingChecks(ctx);
      const together = Object.fromEntries(Object.entries(stores).filter(([name]) => !spanning.has(name)));
      const alone = Object.keys(stores).filter((name) => spanning.has(name));
      const runs = [
        ...(Object.keys(together).length ? [restoreDamaged(ctx, runId, together, records)] : []),
        ...alone.map((name, i) =>
          // An app may write to the stores it runs on: beside an app, the others are restored afresh.
          drillOf(ctx).document.spec.app
            ? restoreDamaged(ctx, `${runId}s${i + 1}`, { ...ctx.stores, [name]: stores[name]! }, new Map([[name, records.get(name)!]]))
            : restoreDamaged(ctx, `${runId}s${i + 1}`, { [name]: stores[name]! }, new Map([[name, records.get(name)!]]), ctx.started.filter((s) => s.name !== name)),
        ),
      ];
      const settled = await Promise.allSettled(runs);
      for (const result of settled) if (result.status === 'rejected') throw result.reason;
      for (const { record } of prepared) {
        if (!record.notMade) record.durationMs = performance.now() - t0;
        onMutant(record);
      }
      return prepared.map((p) => p.record);
    } finally {
      await removeTree(dir);
      for (const staging of stagings) await staging.remove();
    }
  };
  // Two kinds at a time: a child run mostly waits for its servers to start and its tools to read,
  // so two overlap well; each has its own run id, staging dir and stores. The report keeps kind order.
  const out: MutantRecord[][] = [];
  for (let i = 0; i < kinds.length; i += KINDS_AT_ONCE) {
    const batch = kinds.slice(i, i + KINDS_AT_ONCE);
    // Both finish (and tear down) before a failure of either goes on.
    const settled = await Promise.allSettled(batch.map((kind, j) => runKind(kind, i + j)));
    for (const result of settled) {
      if (result.status === 'rejected') throw result.reason;
      out.push(result.value);
    }
  }
  return out.flat();
}

/**
 * A child run over the damaged stores: verify, provision, restore, checks, teardown. With `beside`,
 * the parent's other stores (restored from the good artefacts, their state mutants undone) are read
 * beside the damaged one, as a fresh restore of the same artefacts would be, without starting their
 * servers again; the child never tears them down. Its report is its own and is dropped; what each
 * store's mutant died of goes into `records`.
 */
async function restoreDamaged(ctx: RunContext, runId: string, stores: Record<string, StoreSpec>, records: Map<string, MutantRecord>, beside?: StartedStore[]): Promise<void> {
  const drill = drillOf(ctx);
  const child = createRunContext(ctx.file, { ...ctx.options, runId, reporters: [], keep: false, ...(ctx.options.signal ? { signal: ctx.options.signal } : {}) });
  const kill = (store: string, by: string) => {
    const record = records.get(store);
    if (record) Object.assign(record, { status: 'killed', killedBy: by });
  };
  child.drill = drill;
  child.runtime = ctx.runtime;
  for (const [name, spec] of Object.entries(stores)) {
    try {
      for (const index of spec.restore.keys()) {
        const verified = await inspectStep(name, spec, index, drill.dir, { hash: false });
        if (verified) child.artefacts.push(verified);
      }
      child.stores[name] = spec;
      child.report.store({ ...ctx.report.storeRecord(name)!, status: 'skipped', steps: [], restoreDurationMs: 0, kept: false });
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
      else if (records.has(name)) Object.assign(records.get(name)!, { status: 'not-run', error: `the store for the damaged copy did not start: ${child.report.report.errors[0]?.message ?? 'see the run log'}` });
    }
    if (child.started.length === 0) return;
    const restoring = restorePhase(child);
    const restored = await restoring.all;
    const own = [...child.started];
    if (beside) {
      // A store restored alone that failed its restore is killed by it; its checks would be skipped.
      if (!restored) return void own.forEach(({ name }) => kill(name, 'restore'));
      for (const store of beside) {
        child.started.push(store);
        child.stores[store.name] = ctx.stores[store.name]!;
        child.report.store({ ...ctx.report.storeRecord(store.name)! });
        child.artefacts.push(...ctx.artefacts.filter((a) => a.store === store.name));
      }
    }
    if (!beside && drill.document.spec.app) await appPhase(child, restored);
    // Beside stores already checked, only the checks that read the damaged one can notice its damage.
    const results = await runChecks(child, beside ? { readingStore: own[0]!.name } : {});
    for (const { name } of own) {
      if (child.report.storeStatus(name) !== 'passed') {
        kill(name, 'restore');
        continue;
      }
      // `app` (an http check) and `*` (consistency) read every store.
      const reads = (r: (typeof results)[number]) => ['app', '*', name].some((s) => r.store.split(',').includes(s));
      const killer = results.find((r) => r?.status === 'failed' && reads(r));
      if (killer) kill(name, killer.id);
    }
  } catch (err) {
    // The child stopped: what it could not do is not the damage noticed.
    for (const name of Object.keys(child.stores)) {
      const record = records.get(name);
      if (record?.status === 'survived') Object.assign(record, { status: 'not-run', error: `the damaged copy could not be restored: ${child.report.report.errors[0]?.message ?? errorMessage(err)}` });
    }
  } finally {
    // The parent's stores are the parent's to tear down.
    if (beside) child.started = child.started.filter((s) => !beside.includes(s));
    await teardownPhase(child);
    await child.staging.remove();
  }
}
