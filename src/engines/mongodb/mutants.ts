// The damage `restoreproof mutate` does to a restored MongoDB store, each with its exact undo.
// Documents are read with promoteValues off, so what is written back keeps its BSON types
// (an Int32 stays an Int32, a Double 2.0 does not come back as an Int32).
import type { AnyBulkWriteOperation, Collection, Document, MongoClient } from 'mongodb';
import type { MongoStoreSpec } from '../../drill/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import type { EngineMutants, MutantContext, StateMutant, StateMutantKind } from '../types.ts';
import { forgetCounts } from '../counts.ts';
import { withMongo } from './client.ts';

const raw = { promoteValues: false } as const;
const BATCH = 1000;
/** A dropped collection waits under this prefix (same database: FerretDB renames within one only, and takes no dots or dashes). */
const DROPPED_PREFIX = 'restoreproof_dropped_';

type Target = { database: string; collection: string };
const ns = (t: Target) => `${t.database}.${t.collection}`;

async function listTargets(client: MongoClient, databases: readonly string[]): Promise<Target[]> {
  const targets: Target[] = [];
  for (const database of [...databases].sort()) {
    const names = (await client.db(database).listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((n) => !n.startsWith('system.') && !n.startsWith(DROPPED_PREFIX))
      .sort();
    for (const collection of names) targets.push({ database, collection });
  }
  return targets;
}

/** Top-level fields of the newest document that hold a date: what `age-timestamps` moves. */
async function dateFields(collection: Collection): Promise<string[]> {
  const newest = await collection.findOne({}, { sort: { _id: -1 } });
  return Object.entries(newest ?? {}).filter(([k, v]) => k !== '_id' && v instanceof Date).map(([k]) => k);
}

/** A different value of the same BSON kind where there is an obvious one. */
function changed(value: unknown): unknown {
  if (typeof value === 'string') return `${value}~mutated`;
  if (typeof value === 'boolean') return !value;
  if (value instanceof Date) return new Date(value.getTime() + 86_400_000);
  const bson = (value as { _bsontype?: string } | null)?._bsontype;
  if (bson === 'Int32' || bson === 'Double') {
    const Ctor = (value as { constructor: new (n: number) => unknown }).constructor;
    return new Ctor(Number((value as { valueOf(): number }).valueOf()) + 1);
  }
  if (bson === 'Long') return (value as { add(n: number): unknown }).add(1);
  return 'restoreproof-mutated';
}

/** The store's remembered counts are forgotten after the damage and after its undo, so checks read again. */
function mutant(store: StartedStore, kind: StateMutantKind, target: string, description: string, hint: string, damage: StateMutant['apply']): StateMutant {
  return {
    id: `${kind}:${target}`, kind, target, description, hint,
    async apply(signal) {
      const undo = await damage(signal).finally(() => forgetCounts(store));
      return () => undo().finally(() => forgetCounts(store));
    },
  };
}

/** Moves every date in `field` of the collection by `deltaMs`, in batches. */
async function shiftDates(collection: Collection, field: string, deltaMs: number, signal: AbortSignal): Promise<void> {
  let batch: AnyBulkWriteOperation[] = [];
  const flush = async () => {
    if (batch.length) await collection.bulkWrite(batch, { ordered: false });
    batch = [];
  };
  for await (const doc of collection.find({ [field]: { $type: 'date' } }, { projection: { [field]: 1 }, batchSize: BATCH, ...raw })) {
    signal.throwIfAborted();
    batch.push({ updateOne: { filter: { _id: doc._id }, update: { $set: { [field]: new Date((doc[field] as Date).getTime() + deltaMs) } } } });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
}

function collectionMutants(store: StartedStore, t: Target, dates: string[], context: MutantContext): StateMutant[] {
  const target = `${t.database}/${t.collection}`;
  const on = <T>(fn: (collection: Collection, client: MongoClient) => Promise<T>, signal: AbortSignal) =>
    withMongo(store, (client) => fn(client.db(t.database).collection(t.collection), client), signal);
  const counted = `add a baseline or count check on ${t.database}.${t.collection}`;
  const mutants: StateMutant[] = [
    mutant(store, 'delete-row', target, `deleting 1 document of ${ns(t)}`, counted, (signal) =>
      on(async (c) => {
        const doc = await c.findOne({}, { sort: { _id: 1 }, ...raw });
        if (doc) await c.deleteOne({ _id: doc._id });
        return () => on(async (c2) => void (doc && (await c2.insertOne(doc))), signal);
      }, signal)),
    mutant(store, 'delete-tenth', target, `deleting a tenth of the documents of ${ns(t)}`, counted, (signal) =>
      on(async (c) => {
        // Every tenth document in _id order (at least one): spread over the collection, not its newest end.
        const total = await c.countDocuments({});
        const n = Math.max(1, Math.floor(total / 10));
        const removed: Document[] = [];
        let i = 0;
        for await (const doc of c.find({}, { sort: { _id: 1 }, batchSize: BATCH, ...raw })) {
          if (i++ % 10 === 0) removed.push(doc);
          if (removed.length >= n) break;
        }
        for (let at = 0; at < removed.length; at += BATCH) await c.deleteMany({ _id: { $in: removed.slice(at, at + BATCH).map((d) => d._id) } });
        return () => on(async (c2) => {
          for (let at = 0; at < removed.length; at += BATCH) await c2.insertMany(removed.slice(at, at + BATCH), { ordered: false });
        }, signal);
      }, signal)),
    mutant(store, 'drop-relation', target, `dropping the collection ${ns(t)}`, counted, (signal) =>
      on(async (_c, client) => {
        // A rename keeps documents, indexes and options, so the undo is exact and costs no copy.
        const aside = `${DROPPED_PREFIX}${t.collection}`;
        await client.db('admin').command({ renameCollection: ns(t), to: `${t.database}.${aside}` });
        return () => on(async (_c2, client2) => void (await client2.db('admin').command({ renameCollection: `${t.database}.${aside}`, to: ns(t) })), signal);
      }, signal)),
    mutant(store, 'change-newest', target, `changing one field of the newest document of ${ns(t)}`, `add a query check on the newest document of ${t.database}.${t.collection}`, (signal) =>
      on(async (c) => {
        const doc = await c.findOne({}, { sort: { _id: -1 }, ...raw });
        const field = Object.keys(doc ?? {}).find((k) => k !== '_id');
        if (!doc || !field) return async () => {};
        await c.updateOne({ _id: doc._id }, { $set: { [field]: changed(doc[field]) } });
        return () => on(async (c2) => void (await c2.updateOne({ _id: doc._id }, { $set: { [field]: doc[field] } })), signal);
      }, signal)),
  ];
  if (context.rpoMs !== undefined && dates.length) {
    // Twice the RPO (and a second more): data whose age was within the RPO is then past it.
    const shift = 2 * context.rpoMs + 1000;
    mutants.push(mutant(store, 'age-timestamps', target, `moving every date (${dates.join(', ')}) of ${ns(t)} back past the RPO`, `add a freshness check on ${t.database}.${t.collection}`, (signal) =>
      on(async (c) => {
        for (const field of dates) await shiftDates(c, field, -shift, signal);
        return () => on(async (c2) => {
          for (const field of dates) await shiftDates(c2, field, shift, signal);
        }, signal);
      }, signal)));
  }
  return mutants;
}

function indexMutants(store: StartedStore, t: Target, indexes: Document[]): StateMutant[] {
  return indexes
    .filter((spec) => spec.name !== '_id_')
    .map((spec) => {
      const { v: _v, ns: _ns, ...recreate } = spec;
      return mutant(store, 'drop-index', `${t.database}/${t.collection}.${spec.name}`, `dropping the index ${spec.name} of ${ns(t)}`, 'no mongodb check reads index definitions: accept this survivor in the drill', (signal) =>
        withMongo(store, async (client) => {
          await client.db(t.database).collection(t.collection).dropIndex(String(spec.name));
          return () => withMongo(store, async (c2) => void (await c2.db(t.database).command({ createIndexes: t.collection, indexes: [recreate] })), signal);
        }, signal));
    });
}

export const mongoMutants: EngineMutants<MongoStoreSpec> = {
  kinds: ['delete-row', 'delete-tenth', 'drop-relation', 'change-newest', 'drop-index', 'age-timestamps'],
  state: (store, _spec, context) =>
    withMongo(store, async (client) => {
      const all: StateMutant[] = [];
      for (const t of await listTargets(client, context.databases)) {
        const collection = client.db(t.database).collection(t.collection);
        const dates = context.rpoMs === undefined ? [] : await dateFields(collection);
        all.push(...collectionMutants(store, t, dates, context), ...indexMutants(store, t, await collection.listIndexes().toArray()));
      }
      return all;
    }, context.signal),
};
