// MongoDB's state mutants and integrity check against a real restored server (the test bed's
// FerretDB): each mutant changes what a check reads, and its undo puts back exactly what was there.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BSON, Int32, Double, type MongoClient } from 'mongodb';
import { engines } from '../../src/engines/index.ts';
import { withMongo } from '../../src/engines/mongodb/client.ts';
import type { MongoStoreSpec } from '../../src/drill/types.ts';
import type { CheckRunner } from '../../src/checks/types.ts';
import type { StateMutant } from '../../src/engines/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { restoreStore, type RestoredStore } from '../support/restored-store.ts';

const fixtures = fileURLToPath(new URL('../../src/engines/mongodb/conformance/', import.meta.url));
const engine = engines.mongodb;
const DAY = 86_400_000;

/** Every document (BSON types kept, canonical EJSON), index and collection name of the database. */
async function snapshot(client: MongoClient, database: string): Promise<unknown> {
  const db = client.db(database);
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const docs = await db.collection(name).find({}, { sort: { _id: 1 }, promoteValues: false }).toArray();
    const indexes = (await db.collection(name).listIndexes().toArray()).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    out[name] = { docs: docs.map((d) => BSON.EJSON.stringify(d, { relaxed: false })), indexes };
  }
  return out;
}

describe('mongodb: state mutants and the integrity check', function () {
  let restored: RestoredStore;
  const read = () => withMongo(restored.store, (c) => snapshot(c, 'conformance'));
  const run = (type: 'count' | 'query' | 'integrity', check: object) =>
    (engine.checks[type] as unknown as CheckRunner)({ type, store: 'store', ...check } as never, restored.checkContext('conformance'));

  before(async function () {
    requireBackends(this, 'mongo');
    useTestbedBinaries();
    restored = await restoreStore({ engine: 'mongodb', restore: [{ artefact: join(fixtures, 'items.archive') }] } satisfies MongoStoreSpec, fixtures);
    // A second collection with what the other mutants need: dates, numbers of several BSON types, an index.
    await withMongo(restored.store, async (c) => {
      const events = c.db('conformance').collection('events');
      const now = Date.now();
      await events.insertMany(Array.from({ length: 25 }, (_, i) => ({ seq: new Int32(i), weight: new Double(i + 0.5), at: new Date(now - (25 - i) * 60_000), kind: i % 2 ? 'odd' : 'even' })));
      await events.createIndex({ seq: 1 }, { name: 'seq_unique', unique: true });
    });
  });
  after(async () => {
    await restored?.stop();
  });

  it('declares one mutant of each kind per collection, an index mutant per non-_id index, and ages timestamps only with an RPO', async () => {
    const signal = new AbortController().signal;
    const without = await engine.mutants!.state(restored.store, {} as never, { databases: ['conformance'], signal });
    assert.deepEqual(without.map((m) => m.id), [
      'delete-row:conformance/events', 'delete-tenth:conformance/events', 'drop-relation:conformance/events', 'change-newest:conformance/events',
      'drop-index:conformance/events.seq_unique',
      'delete-row:conformance/items', 'delete-tenth:conformance/items', 'drop-relation:conformance/items', 'change-newest:conformance/items',
    ]);
    const withRpo = await engine.mutants!.state(restored.store, {} as never, { databases: ['conformance'], rpoMs: DAY, signal });
    assert.deepEqual(withRpo.filter((m) => m.kind === 'age-timestamps').map((m) => m.id), ['age-timestamps:conformance/events']);
  });

  it('each mutant changes what the checks read, and its undo restores every document and index exactly', async () => {
    const signal = new AbortController().signal;
    const mutants = await engine.mutants!.state(restored.store, {} as never, { databases: ['conformance'], rpoMs: DAY, signal });
    const before = await read();
    const count = async () => (await run('count', { collection: 'events', expect: { equals: 25 } })).actual;
    const newest = async () => (await run('query', { collection: 'events', find: { sort: { _id: -1 } }, field: 'seq', expect: { equals: 24 } })).actual;
    const noticed: Record<string, (m: StateMutant) => Promise<void>> = {
      'delete-row': async () => assert.equal(await count(), 24),
      'delete-tenth': async () => assert.equal(await count(), 23), // 25 documents: floor(2.5) = 2
      'drop-relation': async () => assert.equal(await count(), 0),
      'change-newest': async () => assert.equal(await newest(), 25),
      'drop-index': async () => withMongo(restored.store, async (c) => assert.deepEqual((await c.db('conformance').collection('events').listIndexes().toArray()).map((i) => i.name), ['_id_'])),
      'age-timestamps': async () => withMongo(restored.store, async (c) => {
        const latest = await c.db('conformance').collection('events').findOne({}, { sort: { at: -1 } });
        assert.ok(Date.now() - (latest!.at as Date).getTime() > DAY, `newest date ${String(latest!.at)} is within the RPO`);
      }),
    };
    for (const m of mutants.filter((x) => x.target.startsWith('conformance/events'))) {
      const undo = await m.apply(signal);
      assert.notDeepEqual(await read(), before, `${m.id} changed nothing`);
      await noticed[m.kind]!(m);
      await undo();
      assert.deepEqual(await read(), before, `${m.id}: the undo left the store different`);
    }
  });

  it('integrity: validate finds every collection valid, and names them', async () => {
    const result = await run('integrity', {});
    assert.equal(result.passed, true, result.message);
    assert.deepEqual(result.actual, { collections: 2, invalid: 0 });
    assert.match(result.message, /all 2 collection\(s\) of every database valid/);
    const empty = await run('integrity', { database: 'absent' });
    assert.equal(empty.passed, false, 'validating nothing must not pass');
    assert.match(empty.message, /no collection to validate in absent/);
  });
});
