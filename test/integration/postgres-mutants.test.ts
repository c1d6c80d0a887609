import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import { postgresEngine } from '../../src/engines/postgres/index.ts';
import { listTables, schemaFingerprint } from '../../src/engines/postgres/introspect.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import type { PostgresStoreSpec } from '../../src/drill/types.ts';
import type { StateMutant } from '../../src/engines/types.ts';
import { requireBackends } from '../support/backends.ts';
import type { CheckContext, CheckRunner } from '../../src/checks/types.ts';
import type { CountCheckSpec } from '../../src/drill/types.ts';

const spec: PostgresStoreSpec = { engine: 'postgres', restore: [] };

const billing = `
  create table customers (id int primary key, name text not null);
  insert into customers select g, 'customer ' || g from generate_series(1, 30) g;
  create table invoices (
    id bigint generated always as identity primary key,
    status text not null check (status in ('open', 'paid')),
    customer_id int not null references customers (id) on delete cascade,
    note varchar(12),
    issued_on date not null,
    created_at timestamptz not null,
    amount numeric(10, 2) not null,
    cents bigint generated always as ((amount * 100)::bigint) stored
  );
  insert into invoices (status, customer_id, note, issued_on, created_at, amount)
    select case when g % 2 = 0 then 'paid' else 'open' end, 1 + g % 30, 'note ' || g, date '2026-01-01' + g % 40,
           timestamptz '2026-01-01 00:00:00+00' + g * interval '17 minutes', g * 1.25
      from generate_series(1, 95) g;
  create index invoices_created_idx on invoices (created_at);
  create index "Invoices Note" on invoices (lower(note));
  comment on index invoices_created_idx is 'newest first';
  alter table invoices cluster on invoices_created_idx;
  create function refuse() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$;
  create trigger invoices_frozen before delete or update on invoices for each row execute function refuse();
  create table events (payload jsonb, seen boolean);
  insert into events select jsonb_build_object('n', g), g % 3 = 0 from generate_series(1, 12) g;
  create table empty_things (id int primary key);
`;
const audit = `
  create table log (id serial primary key, at timestamp not null, line text);
  insert into log (at, line) select timestamp '2026-02-01' + g * interval '1 hour', 'line ' || g from generate_series(1, 20) g;
`;

/** What counts, schema and row checks see of one database, plus what the schema listing leaves out (index comments, CLUSTER, schemas). */
async function reading(client: pg.Client) {
  const tables = await listTables(client);
  const counts: Record<string, number> = {};
  const rows: Record<string, string> = {};
  for (const table of tables) {
    const got = (await client.query<{ n: number; digest: string }>(`select count(*)::int as n, md5(coalesce(string_agg(t::text, E'\\n' order by t::text), '')) as digest from ${table} t`)).rows[0]!;
    counts[table] = got.n;
    rows[table] = got.digest;
  }
  const extras = (
    await client.query<{ line: string }>(
      `select 'schema ' || nspname as line from pg_namespace where nspname not like 'pg\\_%'
       union all
       select 'index ' || i.relname || ' comment ' || coalesce(obj_description(i.oid, 'pg_class'), '-') || ' clustered ' || x.indisclustered
         from pg_index x join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace where n.nspname = 'public'
       order by 1`,
    )
  ).rows.map((r) => r.line);
  return { counts, schema: (await schemaFingerprint(client)).sha256, rows, extras };
}

describe('postgres state mutants (real PostgreSQL): each damages what a check reads, and its undo puts back exactly what was there', function () {
  let store: StartedStore;
  let dir: string;
  const clients = new Map<string, pg.Client>();
  const original = new Map<string, Awaited<ReturnType<typeof reading>>>();
  const signal = new AbortController().signal;
  const readAll = async () => new Map(await Promise.all([...clients].map(async ([db, c]) => [db, await reading(c)] as const)));

  before(async function () {
    requireBackends(this, 'postgres');
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-mutants-'));
    store = await startLocalPostgres({ runId: `mutants-${randomBytes(3).toString('hex')}`, drillName: 'mutants', storeName: 'pg', spec, drillDir: dir, signal });
    const admin = new pg.Client({ ...store.endpoint, database: 'postgres' });
    await admin.connect();
    await admin.query('create database billing');
    await admin.query('create database audit');
    await admin.end();
    for (const [database, sql] of [['billing', billing], ['audit', audit]] as const) {
      const client = new pg.Client({ ...store.endpoint, database });
      await client.connect();
      await client.query(sql);
      clients.set(database, client);
    }
    for (const [db, r] of await readAll()) original.set(db, r);
  });
  after(async () => {
    for (const client of clients.values()) await client.end().catch(() => {});
    await store?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists every kind for every user table in a stable order, row mutants only for tables with rows, age only with an RPO', async () => {
    const mutants = await postgresEngine.mutants!.state(store, spec, { databases: ['billing', 'audit'], rpoMs: 3_600_000, signal });
    assert.deepEqual(mutants.map((m) => m.id), [
      'delete-row:billing/public.customers',
      'delete-tenth:billing/public.customers',
      'drop-relation:billing/public.customers',
      'change-newest:billing/public.customers',
      'drop-relation:billing/public.empty_things',
      'delete-row:billing/public.events',
      'delete-tenth:billing/public.events',
      'drop-relation:billing/public.events',
      'change-newest:billing/public.events',
      'delete-row:billing/public.invoices',
      'delete-tenth:billing/public.invoices',
      'drop-relation:billing/public.invoices',
      'change-newest:billing/public.invoices',
      'drop-index:billing/public.invoices/"Invoices Note"',
      'drop-index:billing/public.invoices/invoices_created_idx',
      'age-timestamps:billing/public.invoices',
      'delete-row:audit/public.log',
      'delete-tenth:audit/public.log',
      'drop-relation:audit/public.log',
      'change-newest:audit/public.log',
      'age-timestamps:audit/public.log',
    ]);
    const byId = new Map(mutants.map((m) => [m.id, m]));
    assert.equal(byId.get('delete-row:billing/public.invoices')!.description, 'deleting 1 row of public.invoices');
    assert.equal(byId.get('delete-row:billing/public.invoices')!.hint, 'add a baseline or count check on billing');
    assert.equal(byId.get('drop-index:billing/public.invoices/invoices_created_idx')!.hint, 'add a schema check against a baseline');
    assert.match(byId.get('age-timestamps:audit/public.log')!.hint, /freshness check/);
    const withoutRpo = await postgresEngine.mutants!.state(store, spec, { databases: ['billing', 'audit'], signal });
    assert.deepEqual(withoutRpo.map((m) => m.id), mutants.map((m) => m.id).filter((id) => !id.startsWith('age-timestamps:')));
  });

  it('every mutant changes what counts, schema or rows read, and after its undo every database reads as before', async () => {
    const mutants = await postgresEngine.mutants!.state(store, spec, { databases: ['billing', 'audit'], rpoMs: 3_600_000, signal });
    // Which reading each kind must change: counts for lost rows, the schema for lost relations and indexes, the rows for changed values.
    const count = postgresEngine.checks.count as CheckRunner<CountCheckSpec>;
    const countCheck = (database: string, table: string, equals: number) =>
      count({ type: 'count', store: 'pg', database, table, expect: { equals } }, { store, database, signal } as CheckContext);
    for (const [database, reading] of original) {
      for (const [table, n] of Object.entries(reading.counts)) assert.equal((await countCheck(database, table, n)).passed, true, `${database}/${table}`);
    }
    const seenBy: Record<string, 'counts' | 'schema' | 'rows'> = {
      'delete-row': 'counts', 'delete-tenth': 'counts', 'drop-relation': 'schema', 'drop-index': 'schema', 'change-newest': 'rows', 'age-timestamps': 'rows',
    };
    for (const mutant of mutants as StateMutant[]) {
      const database = mutant.target.split('/')[0]!;
      const undo = await mutant.apply(signal);
      const damaged = await reading(clients.get(database)!);
      const before = original.get(database)!;
      const table = mutant.target.split('/')[1]!;
      if (seenBy[mutant.kind] === 'counts') {
        const lost = before.counts[table]! - damaged.counts[table]!;
        assert.equal(lost, mutant.kind === 'delete-row' ? 1 : Math.max(1, Math.floor(before.counts[table]! / 10)), mutant.id);
      } else if (seenBy[mutant.kind] === 'schema') {
        assert.notEqual(damaged.schema, before.schema, mutant.id);
      } else {
        assert.notEqual(damaged.rows[table], before.rows[table], mutant.id);
        assert.deepEqual(damaged.counts, before.counts, mutant.id);
      }
      if (mutant.kind === 'drop-relation') assert.equal(damaged.counts[table], undefined, mutant.id);
      if (seenBy[mutant.kind] === 'counts') {
        // The count check itself (which remembers whole counts per store) sees the damage, then the undo.
        assert.equal((await countCheck(database, table, before.counts[table]!)).actual, damaged.counts[table], mutant.id);
      }
      if (mutant.id === 'delete-tenth:billing/public.customers') {
        // Foreign keys and triggers are off while damaging, as a backup that lost the rows would carry them: no cascade.
        assert.equal(damaged.counts['public.invoices'], before.counts['public.invoices']);
      }
      await undo();
      if (seenBy[mutant.kind] === 'counts') assert.equal((await countCheck(database, table, before.counts[table]!)).passed, true, mutant.id);
      for (const [db, after] of await readAll()) assert.deepEqual(after, original.get(db), `${mutant.id}: ${db} after undo`);
    }
  });
});
