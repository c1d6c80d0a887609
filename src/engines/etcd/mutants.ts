// State mutants of a restored etcd store (`restoreproof mutate`): one key deleted per top-level
// prefix, put back with its value and lease by the undo. etcd cannot put back a revision: the undo
// is a new write, so the key's create/mod revision and version, and the store's revision, move on.
import type { StoreSpecOf } from '../../drill/types.ts';
import type { EngineMutants, StateMutant } from '../types.ts';
import { deleteKey, getEntry, listKeys, putKey } from './client.ts';

/**
 * The group a key counts in: /registry/<resource>/ for what the Kubernetes API server stores,
 * else its first path segment (/app/), else '/' or '' for keys with no segment of their own.
 */
export function topPrefix(key: string): string {
  const parts = key.split('/');
  if (key.startsWith('/registry/') && parts.length > 3) return `/registry/${parts[2]}/`;
  if (key.startsWith('/')) return parts.length > 2 ? `/${parts[1]}/` : '/';
  return parts.length > 1 ? `${parts[0]}/` : '';
}

function hintFor(prefix: string, key: string): string {
  const resource = /^\/registry\/([^/]+)\/$/.exec(prefix)?.[1];
  const counted = prefix ? `an etcdKeys check on ${JSON.stringify(prefix)}` : 'an etcdKeys check on ""';
  return resource ? `add a kubeObjects check on ${resource}, or ${counted}` : `add ${counted}, or an etcdKey check on ${key}`;
}

/**
 * delete-key: the first key (in byte order) under each top-level prefix, so the set stays small
 * (one per Kubernetes resource type) and the same for the same snapshot. Ids name the prefix.
 */
export const etcdMutants: EngineMutants<StoreSpecOf<'etcd'>> = {
  kinds: ['delete-key'],
  async state(store, _spec, context) {
    const first = new Map<string, Buffer>();
    for await (const key of listKeys(store.endpoint, context.signal)) {
      const prefix = topPrefix(key.toString('utf8'));
      if (!first.has(prefix)) first.set(prefix, key);
    }
    return [...first].map(([prefix, key]): StateMutant => {
      const shown = key.toString('utf8');
      return {
        id: `delete-key:${prefix}`,
        kind: 'delete-key',
        target: prefix,
        description: `deleting key ${shown}${prefix ? ` (the first under ${prefix})` : ''}`,
        hint: hintFor(prefix, shown),
        async apply(signal) {
          const entry = await getEntry(store.endpoint, key, signal);
          if (!entry) throw new Error(`key ${shown} is gone`);
          await deleteKey(store.endpoint, key, signal);
          return () => putKey(store.endpoint, key, entry.value, entry.lease);
        },
      };
    });
  },
};
