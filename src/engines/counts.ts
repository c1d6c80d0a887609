import type { StartedStore } from '../runtimes/types.ts';

/**
 * One count per table or collection per store and run. Completeness, `count` and `baseline` all
 * need whole counts, and nothing writes to a store once its checks begin (checks only read, and
 * an app's migration runs before them), so each is read from the server once. A count that fails
 * is forgotten, so the next check asks again; so are all of a store's when a state mutant writes to it.
 */
const counted = new WeakMap<StartedStore, Map<string, Promise<number>>>();

/** `key` names the table or collection within the store (database included); `count` reads it. */
export function countOnce(store: StartedStore, key: string, count: () => Promise<number>): Promise<number> {
  let counts = counted.get(store);
  if (!counts) counted.set(store, (counts = new Map()));
  let pending = counts.get(key);
  if (!pending) {
    pending = count();
    counts.set(key, pending);
    pending.catch(() => counts.delete(key));
  }
  return pending;
}

/** Drops the store's remembered counts: after `restoreproof mutate` changes the store, the next check reads again. */
export function forgetCounts(store: StartedStore): void {
  counted.delete(store);
}
