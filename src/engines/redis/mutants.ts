// The damage `restoreproof mutate` does to a restored Redis store: deleting one key of each key
// class, undone exactly with DUMP/RESTORE (the value's serialized form, and its absolute expiry).
import type { RedisStoreSpec } from '../../drill/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import type { EngineMutants, StateMutant } from '../types.ts';
import { redisClient, type RedisConnection } from './client.ts';

/** At most this many key classes per db: the mutants stay a handful whatever the keyspace holds. */
const CLASSES_PER_DB = 32;
const COLON = 0x3a;
const NO_PREFIX = '(no prefix)';

/** A key's class: what comes before its first `:` (`session:42` → `session`), the usual namespace of Redis keys. */
const classOf = (key: Buffer): string => {
  const at = key.indexOf(COLON);
  return at < 0 ? NO_PREFIX : key.subarray(0, at).toString('utf8');
};

async function withDb<T>(store: StartedStore, db: number, fn: (c: RedisConnection) => Promise<T>): Promise<T> {
  const client = await redisClient(store.endpoint, db);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

async function keyspaceDbs(store: StartedStore): Promise<number[]> {
  const info = await withDb(store, 0, async (c) => String(await c.sendCommand(['INFO', 'keyspace'])));
  return [...info.matchAll(/^db(\d+):keys=(\d+)/gm)].filter((m) => Number(m[2]) > 0).map((m) => Number(m[1])).sort((a, b) => a - b);
}

/**
 * The smallest key (byte order) of each of the db's first CLASSES_PER_DB classes in name order, by
 * one SCAN of the keyspace; only the kept classes are held, so memory does not grow with the keys.
 */
async function sampleKeys(c: RedisConnection, signal: AbortSignal): Promise<[string, Buffer][]> {
  const smallest = new Map<string, Buffer>();
  let cursor = '0';
  do {
    signal.throwIfAborted();
    const [next, keys] = (await c.sendBinary(['SCAN', cursor, 'COUNT', '1000'])) as [Buffer, Buffer[]];
    cursor = next.toString();
    for (const key of keys) {
      const name = classOf(key);
      const held = smallest.get(name);
      if (!held || Buffer.compare(key, held) < 0) smallest.set(name, key);
      if (smallest.size > CLASSES_PER_DB) smallest.delete([...smallest.keys()].sort().at(-1)!);
    }
  } while (cursor !== '0');
  return [...smallest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function deleteKey(store: StartedStore, db: number, name: string, key: Buffer): StateMutant {
  const shown = key.toString('utf8');
  const pattern = name === NO_PREFIX ? shown : `${name}:*`;
  return {
    id: `delete-key:${db}/${shown}`,
    kind: 'delete-key',
    target: `${db}/${shown}`,
    description: `deleting the key ${shown} of db ${db}`,
    hint: `add a keys check on ${pattern} (db ${db}) with the count the backup holds, or a key check on ${shown}`,
    apply: (signal) =>
      withDb(store, db, async (c) => {
        signal.throwIfAborted();
        const payload = (await c.sendBinary(['DUMP', key])) as Buffer | null;
        // The absolute expiry (ms; -1 none), so the undo restores the same deadline however long the mutant lasted.
        const expiresAt = Number(await c.sendBinary(['PEXPIRETIME', key]));
        await c.sendBinary(['DEL', key]);
        return () =>
          withDb(store, db, async (c2) => {
            if (!payload) return;
            await c2.sendBinary(expiresAt > 0 ? ['RESTORE', key, String(expiresAt), payload, 'ABSTTL'] : ['RESTORE', key, '0', payload]);
          });
      }),
  };
}

export const redisMutants: EngineMutants<RedisStoreSpec> = {
  kinds: ['delete-key'],
  async state(store, _spec, context) {
    const mutants: StateMutant[] = [];
    for (const db of await keyspaceDbs(store)) {
      const sampled = await withDb(store, db, (c) => sampleKeys(c, context.signal));
      mutants.push(...sampled.map(([name, key]) => deleteKey(store, db, name, key)));
    }
    return mutants;
  },
};
