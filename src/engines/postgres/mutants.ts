import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { PostgresStoreSpec } from '../../drill/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import type { EngineMutants, MutantContext, StateMutant, StateMutantKind } from '../types.ts';
import { connectPostgres } from './connect.ts';
import { forgetCounts } from '../counts.ts';
import { printedIdentifier, quoteIdentifier, tableKey } from './identifiers.ts';

const q = quoteIdentifier;
const DAY_MS = 86_400_000;
/** Where a mutant keeps the rows it took away: a temp table of its own session, which no check's listing sees. */
const SAVED = 'pg_temp.restoreproof_saved';

interface Column {
  name: string;
  type: string;
  generated: boolean;
  inKey: boolean;
}

interface Table {
  oid: string;
  schema: string;
  name: string;
  /** `format('%I.%I')`, as baselines and checks name it. */
  key: string;
  quoted: string;
  columns: Column[];
  empty: boolean;
  indexes: { name: string; oid: string }[];
}

/** A connection held from `apply` to its undo: the temp tables of the session keep what was taken away. */
type Session = pg.Client;

export const postgresMutants: EngineMutants<PostgresStoreSpec> = {
  kinds: ['delete-row', 'delete-tenth', 'drop-relation', 'change-newest', 'drop-index', 'age-timestamps'],
  async state(store, _spec, context) {
    const mutants: StateMutant[] = [];
    for (const database of context.databases) {
      for (const table of await readTables(store, database, context.signal)) mutants.push(...tableMutants(store, database, table, context));
    }
    return mutants;
  },
};

async function readTables(store: StartedStore, database: string, signal: AbortSignal): Promise<Table[]> {
  const client = await connectPostgres({ ...store.endpoint, database }, `store ${store.name} database ${database}`, signal);
  try {
    // Tables as the checks list them (partitions through their parent), without those an extension owns.
    const { rows } = await client.query<{ oid: string; schema: string; name: string; key: string }>(
      `select c.oid::text as oid, n.nspname as schema, c.relname as name, format('%I.%I', n.nspname, c.relname) as key
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition
          and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
          and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
        order by n.nspname collate "C", c.relname collate "C"`,
    );
    const tables: Table[] = [];
    for (const row of rows) {
      const columns = (
        await client.query<{ name: string; type: string; generated: boolean; in_key: boolean }>(
          `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attgenerated <> '' as generated,
                  coalesce(a.attnum = any(p.conkey), false) as in_key
             from pg_attribute a
             left join pg_constraint p on p.conrelid = a.attrelid and p.contype = 'p'
            where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped
            order by a.attnum`,
          [row.oid],
        )
      ).rows.map((c) => ({ name: c.name, type: c.type, generated: c.generated, inKey: c.in_key }));
      const quoted = `${q(row.schema)}.${q(row.name)}`;
      const empty = !(await client.query(`select 1 from ${quoted} limit 1`)).rowCount;
      // Indexes no constraint owns, on the table itself: dropping one and running its definition again is exact.
      const indexes = (
        await client.query<{ name: string; oid: string }>(
          `select i.relname as name, i.oid::text as oid
             from pg_index x join pg_class i on i.oid = x.indexrelid
            where x.indrelid = $1::oid and i.relkind = 'i'
              and not exists (select 1 from pg_constraint k where k.conindid = x.indexrelid)
            order by i.relname collate "C"`,
          [row.oid],
        )
      ).rows;
      tables.push({ oid: row.oid, schema: row.schema, name: row.name, key: row.key, quoted, columns, empty, indexes });
    }
    return tables;
  } finally {
    await client.end().catch(() => {});
  }
}

function tableMutants(store: StartedStore, database: string, table: Table, context: MutantContext): StateMutant[] {
  const target = `${database}/${table.key}`;
  const mutant = (kind: StateMutantKind, description: string, hint: string, damage: (session: Session) => Promise<(session: Session) => Promise<void>>, suffix = ''): StateMutant => ({
    id: `${kind}:${target}${suffix}`,
    kind,
    target: `${target}${suffix}`,
    description,
    hint,
    apply: (signal) => applyInSession(store, database, signal, damage),
  });
  const counted = `add a baseline or count check on ${database}`;
  const mutants: StateMutant[] = [];
  if (!table.empty) {
    mutants.push(mutant('delete-row', `deleting 1 row of ${table.key}`, counted, (s) => deleteRows(s, table, () => Promise.resolve(1))));
    mutants.push(
      mutant('delete-tenth', `deleting 10% of the rows of ${table.key}`, counted, (s) =>
        deleteRows(s, table, async () => {
          const n = Number((await s.query<{ n: string }>(`select count(*) as n from ${table.quoted}`)).rows[0]?.n ?? 0);
          return Math.max(1, Math.floor(n / 10));
        }),
      ),
    );
  }
  mutants.push(mutant('drop-relation', `dropping table ${table.key}`, `add a baseline, schema or count check on ${database}`, (s) => hideTable(s, table)));
  const changeable = changeCandidates(table);
  if (!table.empty && changeable.length) {
    mutants.push(
      mutant('change-newest', `changing one value in the newest row of ${table.key}`, `add a query check on the newest row of ${table.key} (or an auditChain check)`, (s) =>
        changeNewest(s, table, changeable),
      ),
    );
  }
  for (const index of table.indexes) {
    mutants.push(
      mutant('drop-index', `dropping index ${tableKey(table.schema, index.name)} of ${table.key}`, 'add a schema check against a baseline', (s) => dropIndex(s, index.oid), `/${printedIdentifier(index.name)}`),
    );
  }
  const times = table.columns.filter((c) => !c.generated && timeType(c.type));
  if (context.rpoMs !== undefined && !table.empty && times.length) {
    const rpoMs = context.rpoMs;
    mutants.push(
      mutant('age-timestamps', `moving every timestamp of ${table.key} (${times.map((c) => q(c.name)).join(', ')}) back past the RPO`, `add a freshness check on ${table.key}`, (s) =>
        ageTimestamps(s, table, times, rpoMs),
      ),
    );
  }
  return mutants;
}

/**
 * Damages in one transaction of a session of its own, with triggers and foreign keys off
 * (session_replication_role = replica), as a backup that lost the data would carry it; the
 * session stays open until the undo, which runs the same way and closes it.
 */
async function applyInSession(store: StartedStore, database: string, signal: AbortSignal, damage: (session: Session) => Promise<(session: Session) => Promise<void>>): Promise<() => Promise<void>> {
  const session = await connectPostgres({ ...store.endpoint, database }, `store ${store.name} database ${database}`, signal);
  try {
    await session.query('set session_replication_role = replica');
    // The counts the checks remember are of the store before the damage (and again before the undo).
    const undo = await inTransaction(session, () => damage(session)).finally(() => forgetCounts(store));
    return async () => {
      try {
        await inTransaction(session, () => undo(session));
      } finally {
        forgetCounts(store);
        await session.end().catch(() => {});
      }
    };
  } catch (err) {
    await session.end().catch(() => {});
    throw err;
  }
}

async function inTransaction<T>(session: Session, fn: () => Promise<T>): Promise<T> {
  await session.query('begin');
  try {
    const result = await fn();
    await session.query('commit');
    return result;
  } catch (err) {
    await session.query('rollback').catch(() => {});
    throw err;
  }
}

/** Columns an insert may name: generated ones are computed again from the others. */
const insertable = (table: Table) => table.columns.filter((c) => !c.generated).map((c) => q(c.name)).join(', ');

async function deleteRows(session: Session, table: Table, howMany: () => Promise<number>) {
  const n = await howMany();
  await session.query(`create temp table restoreproof_saved as select * from ${table.quoted} limit 0`);
  // tableoid with ctid names a row of a partitioned table too.
  await session.query(
    `with victims as (select tableoid as rel, ctid as row from ${table.quoted} limit ${n}),
          gone as (delete from ${table.quoted} as target using victims where target.tableoid = victims.rel and target.ctid = victims.row returning target.*)
     insert into ${SAVED} select * from gone`,
  );
  return async (s: Session) => {
    const columns = insertable(table);
    await s.query(`insert into ${table.quoted} (${columns}) overriding system value select ${columns} from ${SAVED}`);
    await s.query(`drop table ${SAVED}`);
  };
}

/** Moves the table (with its indexes, constraints and owned sequences) into a schema of its own and back: foreign keys follow it by oid. */
async function hideTable(session: Session, table: Table) {
  const hidden = q(`restoreproof_mutant_${randomBytes(4).toString('hex')}`);
  await session.query(`create schema ${hidden}`);
  await session.query(`alter table ${table.quoted} set schema ${hidden}`);
  return async (s: Session) => {
    await s.query(`alter table ${hidden}.${q(table.name)} set schema ${q(table.schema)}`);
    await s.query(`drop schema ${hidden}`);
  };
}

const stringTypes = /^(text|character varying|character|name|citext)(\(\d+\))?$/;
const numberTypes = /^(smallint|integer|bigint|numeric|real|double precision)(\(\d+(,\d+)?\))?$/;
const timeType = (type: string) => /^(date|timestamp(\(\d\))? with(out)? time zone)$/.test(type);

/** The new value of a column, as SQL over its old one (`v`), always different from it; undefined for types left alone. */
function changedValue(type: string): string | undefined {
  if (stringTypes.test(type)) return `(case when v is null or v::text = '' then 'x' else left(v::text, -1) || case when right(v::text, 1) = 'x' then 'y' else 'x' end end)`;
  if (numberTypes.test(type)) return `coalesce(case when v > 0 then v - 1 else v + 1 end, 1)`;
  if (type === 'boolean') return 'coalesce(not v, true)';
  if (type === 'date') return 'coalesce(v - 1, current_date)';
  if (timeType(type)) return `coalesce(v - interval '1 second', now())`;
  if (type === 'json' || type === 'jsonb') return `(case when v::text = '{}' then '[]' else '{}' end)`;
  if (type === 'uuid') return `(case when v::text = '00000000-0000-0000-0000-000000000000' then 'ffffffff-ffff-ffff-ffff-ffffffffffff' else '00000000-0000-0000-0000-000000000000' end)`;
  if (type === 'bytea') return `coalesce(v || '\\x00'::bytea, '\\x00'::bytea)`;
  return undefined;
}

/** Columns change-newest may change, best first: not in the primary key, not generated, the timestamps that order rows last. */
function changeCandidates(table: Table): Column[] {
  const usable = table.columns.filter((c) => !c.inKey && !c.generated && changedValue(c.type));
  return [...usable.filter((c) => !timeType(c.type)), ...usable.filter((c) => timeType(c.type))];
}

/** Newest by the first timestamp column, else the highest primary key, else the last row stored. */
function newestOrder(table: Table): string {
  const time = table.columns.find((c) => timeType(c.type));
  if (time) return `${q(time.name)} desc nulls last`;
  const key = table.columns.filter((c) => c.inKey);
  if (key.length) return key.map((c) => `${q(c.name)} desc`).join(', ');
  return 'tableoid desc, ctid desc';
}

async function changeNewest(session: Session, table: Table, candidates: Column[]) {
  const newest = (await session.query<{ rel: string; row: string }>(`select tableoid::text as rel, ctid::text as row from ${table.quoted} order by ${newestOrder(table)} limit 1`)).rows[0]!;
  const failures: string[] = [];
  for (const column of candidates) {
    // A check constraint or unique index may refuse a value: the next column is tried.
    await session.query('savepoint change');
    try {
      await session.query(`create temp table restoreproof_saved as select ${q(column.name)} as v from ${table.quoted} where tableoid = $1::oid and ctid = $2::tid`, [newest.rel, newest.row]);
      const moved = (
        await session.query<{ rel: string; row: string }>(
          `update ${table.quoted} set ${q(column.name)} = (select ${changedValue(column.type)}::${column.type} from ${SAVED}) where tableoid = $1::oid and ctid = $2::tid returning tableoid::text as rel, ctid::text as row`,
          [newest.rel, newest.row],
        )
      ).rows[0]!;
      return async (s: Session) => {
        await s.query(`update ${table.quoted} set ${q(column.name)} = (select v from ${SAVED}) where tableoid = $1::oid and ctid = $2::tid`, [moved.rel, moved.row]);
        await s.query(`drop table ${SAVED}`);
      };
    } catch (err) {
      await session.query('rollback to savepoint change');
      failures.push(`${column.name}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot change the newest row of ${table.key}: ${failures.join('; ')}`);
}

/** Drops the index and runs its definition again on undo, with its comment and CLUSTER mark. */
async function dropIndex(session: Session, oid: string) {
  const { rows } = await session.query<{ def: string; name: string; bare: string; comment: string | null; clustered: boolean; tbl: string }>(
    `select pg_get_indexdef(x.indexrelid) as def, format('%I.%I', n.nspname, i.relname) as name, i.relname as bare, obj_description(x.indexrelid, 'pg_class') as comment,
            x.indisclustered as clustered, x.indrelid::regclass::text as tbl
       from pg_index x join pg_class i on i.oid = x.indexrelid join pg_namespace n on n.oid = i.relnamespace
      where x.indexrelid = $1::oid`,
    [oid],
  );
  const index = rows[0]!;
  await session.query(`drop index ${index.name}`);
  return async (s: Session) => {
    await s.query(index.def);
    if (index.comment !== null) await s.query(`comment on index ${index.name} is ${s.escapeLiteral(index.comment)}`);
    if (index.clustered) await s.query(`alter table ${index.tbl} cluster on ${q(index.bare)}`);
  };
}

/**
 * Moves every date and timestamp of the table back by the RPO and a day more; the undo adds the
 * same amount, which is exact (the interval is in microseconds only and dates move by whole days).
 */
async function ageTimestamps(session: Session, table: Table, columns: Column[], rpoMs: number) {
  const ms = Math.round(rpoMs) + DAY_MS;
  const days = Math.ceil(ms / DAY_MS);
  const shift = (sign: '-' | '+') =>
    columns.map((c) => `${q(c.name)} = ${q(c.name)} ${sign} ${c.type === 'date' ? `${days}` : `${ms}::bigint * interval '1 millisecond'`}`).join(', ');
  await session.query(`update ${table.quoted} set ${shift('-')}`);
  return async (s: Session) => {
    await s.query(`update ${table.quoted} set ${shift('+')}`);
  };
}
