import type pg from 'pg';
import type { CheckOutcome, CheckRunner } from '../../checks/types.ts';
import type { IntegrityCheckSpec } from '../../drill/types.ts';
import { connectPostgres } from './connect.ts';
import { redact } from '../../util/redact.ts';

interface Relation {
  oid: string;
  /** `format('%I.%I')`, as messages name it. */
  name: string;
}

/** How many problems a message lists before it says how many more there are. */
const LISTED = 10;

/**
 * amcheck over the whole restored database, system catalogs included (a physical restore can damage
 * them too): `bt_index_check` with `heapallindexed` on every B-tree index (each index entry is checked
 * against the heap, and every heap tuple is looked up in the index), and `verify_heapam` with its
 * TOAST on every table on PostgreSQL 14+. The extension is created in the restored database, which
 * the run owns.
 */
export const postgresIntegrity: CheckRunner<IntegrityCheckSpec> = async (_check, context) => {
  const label = `store ${context.store.name} database ${context.database}`;
  const client = await connectPostgres({ ...context.store.endpoint, database: context.database }, label, context.signal);
  try {
    const version = Number((await client.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v);
    const amcheck = await createAmcheck(client);
    if ('missing' in amcheck) {
      return { passed: false, expected: 'amcheck finds every B-tree index and table whole', actual: null, message: `amcheck is not available on this server: ${amcheck.missing} (install the PostgreSQL contrib modules in the server's image)` };
    }
    const fn = (name: string) => `${amcheck.schema}.${name}`;
    const problems: string[] = [];
    const indexes = await storedRelations(client, `c.relkind = 'i' and c.relam = (select oid from pg_am where amname = 'btree') and exists (select 1 from pg_index x where x.indexrelid = c.oid and x.indisvalid and x.indisready)`);
    // heapallindexed came with amcheck 1.1 (PostgreSQL 11).
    const indexCheck = version >= 110000 ? `select ${fn('bt_index_check')}($1::oid::regclass, true)` : `select ${fn('bt_index_check')}($1::oid::regclass)`;
    for (const index of indexes) {
      context.signal.throwIfAborted();
      await client.query(indexCheck, [index.oid]).catch((err: unknown) => problems.push(`index ${index.name}: ${failure(err)}`));
    }
    const heap = version >= 140000;
    const tables = heap ? await storedRelations(client, `c.relkind in ('r', 'm')`) : [];
    for (const table of tables) {
      context.signal.throwIfAborted();
      try {
        const { rows } = await client.query<{ blkno: string; offnum: number | null; attnum: number | null; msg: string }>(
          `select blkno::text, offnum, attnum, msg from ${fn('verify_heapam')}($1::oid::regclass, check_toast => true) limit ${LISTED + 1}`,
          [table.oid],
        );
        for (const row of rows) problems.push(`table ${table.name}: block ${row.blkno}${row.offnum === null ? '' : `, offset ${row.offnum}`}${row.attnum === null ? '' : `, attribute ${row.attnum}`}: ${row.msg}`);
      } catch (err) {
        problems.push(`table ${table.name}: ${failure(err)}`);
      }
    }
    const checked = `${indexes.length} B-tree indexes${heap ? ` and ${tables.length} tables` : ''}`;
    const outcome: CheckOutcome = {
      passed: problems.length === 0,
      expected: `amcheck finds every B-tree index${heap ? ' and table' : ''} whole`,
      actual: { indexes: indexes.length, tables: heap ? tables.length : null, problems: problems.slice(0, 100) },
      message: problems.length
        ? problems.slice(0, LISTED).join('; ') + (problems.length > LISTED ? `; … ${problems.length - LISTED} more` : '') + ` (amcheck over ${checked})`
        : `${checked} whole${heap ? '' : ` (heap checks need PostgreSQL 14+, this is ${Math.floor(version / 10000)})`}`,
    };
    return outcome;
  } finally {
    await client.end().catch(() => {});
  }
};

async function createAmcheck(client: pg.Client): Promise<{ schema: string } | { missing: string }> {
  try {
    await client.query('create extension if not exists amcheck');
  } catch (err) {
    return { missing: redact((err as Error).message) };
  }
  const schema = (await client.query<{ schema: string }>(`select quote_ident(n.nspname) as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'amcheck'`)).rows[0]!.schema;
  return { schema };
}

/** Relations with storage of this database (not other sessions' temp tables), catalogs and TOAST included, in name order. */
async function storedRelations(client: pg.Client, where: string): Promise<Relation[]> {
  const { rows } = await client.query<Relation>(
    `select c.oid::text as oid, format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relpersistence <> 't' and ${where}
      order by n.nspname collate "C", c.relname collate "C"`,
  );
  return rows;
}

function failure(err: unknown): string {
  const e = err as { message: string; detail?: string };
  return redact(e.detail ? `${e.message} (${e.detail})` : e.message);
}
