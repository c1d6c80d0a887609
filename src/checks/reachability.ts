import { createHash } from 'node:crypto';
import { aStoreOf, enginesWith } from '../engines/capabilities.ts';
import { engineFor } from '../engines/index.ts';
import type { ListedObject, ObjectReference } from '../engines/types.ts';
import { RestoreproofError } from '../errors.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { Drill, ReachabilityCheckSpec } from '../drill/types.ts';
import type { CheckOutcome } from './types.ts';

export interface ReachabilityContext {
  drill: Drill;
  stores: ReadonlyMap<string, StartedStore>;
  signal: AbortSignal;
}

/** S3 lists keys in UTF-8 byte order; JS string order (UTF-16) differs above U+FFFF, so compare bytes. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Fails loudly if a source does not deliver keys in the order the merge relies on. */
async function* ordered<T extends { key: string }>(source: AsyncIterable<T>, what: string, unique: boolean): AsyncGenerator<T> {
  let previous: string | undefined;
  for await (const item of source) {
    if (previous !== undefined) {
      const c = compareKeys(previous, item.key);
      if (c > 0 || (unique && c === 0)) throw new RestoreproofError('E_ORDER', `${what} are not in byte order at "${item.key}" (after "${previous}")`);
    }
    previous = item.key;
    yield item;
  }
}

/**
 * Every object the database references is in the bucket: a merge join of two sorted streams
 * (references ordered by the database, objects in ListObjectsV2 order), so memory stays flat in
 * the number of rows and objects and there is no HEAD per reference. Checksums are read only where
 * a reference carries one, with bounded concurrency.
 */
export async function runReachability(check: ReachabilityCheckSpec, context: ReachabilityContext): Promise<CheckOutcome> {
  const refSpec = context.drill.document.spec.stores[check.references.store]!;
  const objSpec = context.drill.document.spec.stores[check.objects.store]!;
  const refEngine = engineFor(refSpec);
  const objEngine = engineFor(objSpec);
  if (!refEngine.references) throw new RestoreproofError('E_CHECK', `store ${check.references.store} (${refSpec.engine}) cannot provide references; use ${aStoreOf(enginesWith('references'))}`);
  if (!objEngine.objects) throw new RestoreproofError('E_CHECK', `store ${check.objects.store} (${objSpec.engine}) holds no objects; use ${aStoreOf(enginesWith('objects'))}`);
  const bucket = check.objects.bucket ?? objEngine.objects.defaultBucket(objSpec);
  if (!bucket) throw new RestoreproofError('E_CHECK', `store ${check.objects.store} restores several buckets; set objects.bucket`);
  const refStore = context.stores.get(check.references.store)!;
  const objStore = context.stores.get(check.objects.store)!;
  const database = check.references.database ?? refEngine.defaultDatabase(refSpec);
  const sample = check.sample ?? 10;
  const keyPrefix = check.references.keyPrefix ?? '';
  const verify = check.verifyChecksums ?? true;
  const concurrency = check.concurrency ?? 8;
  const orphanPolicy = check.orphans ?? 'warn';

  const counts = { references: 0, objects: 0, matched: 0, missing: 0, orphans: 0, mismatched: 0, checksumsVerified: 0 };
  const missing: string[] = [];
  const orphans: string[] = [];
  const mismatched: { key: string; reason: string }[] = [];
  const note = (list: unknown[], item: unknown) => list.length < sample && list.push(item);
  const mismatch = (key: string, reason: string) => {
    counts.mismatched++;
    note(mismatched, { key, reason });
  };

  const pending = new Set<Promise<void>>();
  const hashObject = (ref: ObjectReference) => {
    const job = (async () => {
      const stream = await objEngine.objects!.openObject(objStore, bucket, ref.key);
      const hash = createHash('sha256');
      for await (const chunk of stream) hash.update(chunk as Buffer);
      const actual = hash.digest('hex');
      counts.checksumsVerified++;
      if (actual !== ref.sha256!.toLowerCase()) mismatch(ref.key, `sha256 ${actual.slice(0, 12)}… ≠ referenced ${ref.sha256!.slice(0, 12)}…`);
    })().finally(() => pending.delete(job));
    pending.add(job);
    return job;
  };

  const started = performance.now();
  const refs = ordered(
    (async function* () {
      for await (const r of refEngine.references!.streamReferences(refStore, check.references, database, context.signal)) yield keyPrefix ? { ...r, key: keyPrefix + r.key } : r;
    })(),
    `references from ${check.references.store}`,
    false,
  )[Symbol.asyncIterator]();
  const objs = ordered(objEngine.objects.listObjects(objStore, bucket, check.objects.prefix ?? ''), `objects in ${bucket}`, true)[Symbol.asyncIterator]();

  let ref = await refs.next();
  let obj = await objs.next();
  if (!obj.done) counts.objects++;
  while (!ref.done || !obj.done) {
    context.signal.throwIfAborted();
    const c = ref.done ? 1 : obj.done ? -1 : compareKeys(ref.value.key, obj.value.key);
    if (c < 0) {
      counts.references++;
      counts.missing++;
      note(missing, ref.value.key);
      ref = await skipDuplicates(refs, ref.value.key, counts);
    } else if (c > 0) {
      counts.orphans++;
      note(orphans, obj.value.key);
      obj = await objs.next();
      if (!obj.done) counts.objects++;
    } else {
      counts.references++;
      counts.matched++;
      const r = ref.value;
      const o: ListedObject = obj.value;
      if (r.size !== undefined && r.size !== null && Number(r.size) !== o.size) mismatch(r.key, `size ${o.size} ≠ referenced ${r.size}`);
      else if (verify && r.sha256) {
        if (pending.size >= concurrency) await Promise.race(pending);
        void hashObject(r);
      }
      ref = await skipDuplicates(refs, r.key, counts);
      obj = await objs.next();
      if (!obj.done) counts.objects++;
    }
  }
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;

  const failedOrphans = orphanPolicy === 'fail' && counts.orphans > 0;
  const passed = counts.missing === 0 && counts.mismatched === 0 && !failedOrphans;
  const parts = [
    `${counts.references} references, ${counts.objects} objects`,
    counts.missing ? `${counts.missing} missing (${missing.join(', ')}${counts.missing > missing.length ? ', …' : ''})` : '',
    counts.mismatched ? `${counts.mismatched} mismatched (${mismatched.map((m) => `${m.key}: ${m.reason}`).join('; ')}${counts.mismatched > mismatched.length ? '; …' : ''})` : '',
    counts.orphans && orphanPolicy !== 'ignore' ? `${counts.orphans} orphans (${orphans.join(', ')}${counts.orphans > orphans.length ? ', …' : ''})` : '',
  ].filter(Boolean);
  return {
    passed,
    warn: passed && orphanPolicy === 'warn' && counts.orphans > 0,
    expected: `every referenced object present${verify ? ' with matching sha256/size' : ''}${orphanPolicy === 'fail' ? ' and no orphans' : ''}`,
    actual: { ...counts, missing, orphans: orphanPolicy === 'ignore' ? [] : orphans, mismatched, rowsPerSecond: Math.round((counts.references + counts.objects) / Math.max(seconds, 1e-3)) },
    message: parts.join('; '),
  };
}

async function skipDuplicates(refs: AsyncIterator<ObjectReference>, key: string, counts: { references: number }) {
  let next = await refs.next();
  while (!next.done && next.value.key === key) {
    counts.references++;
    next = await refs.next();
  }
  return next;
}
