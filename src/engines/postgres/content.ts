// A table's content digest: sha256 over `COPY (SELECT * … ORDER BY key) TO STDOUT`, the server's text
// of every row under fixed output settings, streamed. The same function runs on the source at capture
// and on the restored database in the baseline check, so equal digests mean equal rows.
import { createHash } from 'node:crypto';
import type pg from 'pg';

/** Output settings every type's text depends on; SET LOCAL, so the caller's transaction scopes them. */
const canonicalText = [
  "set local datestyle = 'ISO, YMD'",
  "set local timezone = 'UTC'",
  "set local intervalstyle = 'postgres'",
  'set local extra_float_digits = 3',
  "set local bytea_output = 'hex'",
  "set local lc_monetary = 'C'",
];

/** The table's alias in the digest query; a column of the same name would shadow it in `alias::text`. */
const alias = 'restoreproof_row';

/**
 * The order that makes the digest deterministic: the primary key, else the unique index without a
 * predicate or expression whose columns are all NOT NULL (fewest columns, then name), its collatable
 * columns in "C" order so the database's collation does not matter; a table without one is ordered by
 * its whole row text (identical rows are interchangeable).
 */
async function orderBy(client: pg.ClientBase, table: string): Promise<string> {
  const { rows } = await client.query<{ columns: string[]; collatable: boolean[] }>(
    `select array_agg(a.attname::text order by k.ord) as columns, array_agg(a.attcollation <> 0 order by k.ord) as collatable
       from pg_index x
       join pg_class i on i.oid = x.indexrelid
       cross join lateral unnest(x.indkey::int2[]) with ordinality k(attnum, ord)
       join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
      where x.indrelid = $1::regclass and x.indisunique and x.indpred is null and x.indexprs is null
      group by x.indexrelid, x.indisprimary, i.relname
     having bool_and(a.attnotnull)
      order by x.indisprimary desc, count(*), i.relname
      limit 1`,
    [table],
  );
  const key = rows[0];
  if (!key) return `${alias}::text collate "C"`;
  return key.columns.map((c, i) => `${alias}.${client.escapeIdentifier(c)}${key.collatable[i] ? ' collate "C"' : ''}`).join(', ');
}

/** `sha256:<hex>` of one table's rows; `table` is a quoted name as listTables returns it. Call inside a transaction. */
export async function contentDigest(client: pg.ClientBase, table: string): Promise<string> {
  for (const setting of canonicalText) await client.query(setting);
  const order = await orderBy(client, table);
  const hash = createHash('sha256');
  const { to: copyTo } = await import('pg-copy-streams');
  for await (const chunk of client.query(copyTo(`copy (select * from ${table} ${alias} order by ${order}) to stdout`)) as AsyncIterable<Buffer>) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** The digests of the given tables, one streaming pass each. */
export async function contentDigests(client: pg.ClientBase, tables: string[]): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const table of tables) digests[table] = await contentDigest(client, table);
  return digests;
}
