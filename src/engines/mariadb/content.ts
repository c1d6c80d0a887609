// A table's content digest: sha256 over `SELECT * … ORDER BY key`, each value as the server's text
// (typeCast off: the bytes it sends), streamed. The same function runs on the source at capture and
// on the restored database in the baseline check, so equal digests mean equal rows. CHECKSUM TABLE is
// not used: it hashes the storage format, which differs between MariaDB and MySQL and across versions.
import { createHash, type Hash } from 'node:crypto';
import type { Connection as CoreConnection } from 'mysql2';
import type { Connection } from 'mysql2/promise';
import { quoteIdent } from './client.ts';

/** Settings the text of a value depends on, and the sort of long values (ORDER BY reads max_sort_length bytes). */
const canonicalText = ["SET SESSION time_zone = '+00:00'", 'SET SESSION max_sort_length = 8388608'];

interface KeyColumn {
  name: string;
  collatable: boolean;
}

/**
 * The primary key, else the unique index whose columns are all NOT NULL and none an expression (fewest
 * columns, then name); character columns compared as bytes so the collation does not order them. A
 * table without one is ordered by every column (identical rows are interchangeable).
 */
async function orderBy(connection: Connection, database: string, table: string): Promise<string> {
  // Two queries joined here: MariaDB answers a join of information_schema.STATISTICS with COLUMNS
  // ~20 ms a table, each alone under 1 ms (a baseline check reads every table's digest).
  const [keyRows] = await connection.query({
    sql: `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
           WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
           ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    rowsAsArray: true,
  }, [database, table]);
  const [columnRows] = await connection.query({ sql: "SELECT COLUMN_NAME, COLLATION_NAME IS NOT NULL, IS_NULLABLE = 'NO' FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", rowsAsArray: true }, [database, table]);
  const all = (columnRows as [string, number, number][]).map(([name, collatable, notNull]) => ({ name, collatable: Boolean(Number(collatable)), notNull: Boolean(Number(notNull)) }));
  // Column names are case-insensitive, as the join compared them.
  const byName = new Map(all.map((c) => [c.name.toLowerCase(), c] as const));
  const indexes = new Map<string, { columns: KeyColumn[]; usable: boolean }>();
  for (const [index, column] of keyRows as [string, string | null][]) {
    const entry = indexes.get(index) ?? { columns: [], usable: true };
    const described = column === null ? undefined : byName.get(column.toLowerCase());
    if (column === null || !described?.notNull) entry.usable = false;
    else entry.columns.push({ name: column, collatable: described.collatable });
    indexes.set(index, entry);
  }
  const candidates = [...indexes].filter(([, i]) => i.usable).sort(([a, x], [b, y]) => Number(b === 'PRIMARY') - Number(a === 'PRIMARY') || x.columns.length - y.columns.length || (a < b ? -1 : 1));
  const columns = candidates[0]?.[1].columns ?? all;
  return columns.map((c) => (c.collatable ? `CAST(${quoteIdent(c.name)} AS BINARY)` : quoteIdent(c.name))).join(', ');
}

/** Each value framed (NULL apart from '', lengths between values), so rows cannot run into each other. */
function hashRow(hash: Hash, row: (Buffer | null)[]): void {
  const length = Buffer.allocUnsafe(5);
  for (const value of row) {
    if (value === null) {
      hash.update(Buffer.of(0));
      continue;
    }
    length[0] = 1;
    length.writeUInt32BE(value.length, 1);
    hash.update(length).update(value);
  }
}

/** `sha256:<hex>` of one table's rows; call inside the caller's transaction (a snapshot at capture). */
export async function contentDigest(connection: Connection, database: string, table: string): Promise<string> {
  for (const setting of canonicalText) await connection.query(setting);
  const sql = `SELECT * FROM ${quoteIdent(database)}.${quoteIdent(table)} ORDER BY ${await orderBy(connection, database, table)}`;
  // The promise wrapper holds the callback connection, which alone can stream; read to the end, it stays usable.
  const core = (connection as unknown as { connection: CoreConnection }).connection;
  const hash = createHash('sha256');
  for await (const row of core.query({ sql, rowsAsArray: true, typeCast: false }).stream({ highWaterMark: 1000 }) as AsyncIterable<(Buffer | null)[]>) hashRow(hash, row);
  return `sha256:${hash.digest('hex')}`;
}

/** The digests of the given tables of one database, one streaming pass each. */
export async function contentDigests(connection: Connection, database: string, tables: string[]): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const table of tables) digests[table] = await contentDigest(connection, database, table);
  return digests;
}
