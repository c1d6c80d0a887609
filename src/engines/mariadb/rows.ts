// Row streaming for the row-reading checks (auditChain, decrypt, freshness): a table's columns read
// as the server's text, in one read-only transaction, through mysql2's query stream.
import { RestoreproofError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { MissingColumnError, nullCell, type CellValue, type RowRequest, type RowSource, type RowStream, type ValueKind } from '../rows.ts';
import { connectMariadb, quoteIdent, tableNameParts } from './client.ts';
import { streamQuery } from './stream.ts';

const numberTypes = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real', 'year']);
const bytesTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
function mariadbKind(dataType: string): ValueKind {
  if (numberTypes.has(dataType)) return 'number';
  if (dataType === 'datetime' || dataType === 'timestamp') return 'timestamp';
  if (bytesTypes.has(dataType)) return 'bytes';
  return 'text';
}

/** Every value as the text the server sends (no driver conversion); bytes are hexed by the query. */
const serverText = (field: { string(encoding?: string): string | null }) => field.string('utf8');

async function streamMariadb(store: StartedStore, request: RowRequest): Promise<RowStream> {
  let database = request.database;
  let table: string;
  try {
    const parts = tableNameParts(request.relation);
    [database, table] = parts.length === 2 ? [parts[0]!, parts[1]!] : [database, parts[0]!];
  } catch (err) {
    throw new RestoreproofError('E_CHECK', `invalid table name ${request.relation}: ${(err as Error).message}`);
  }
  const connection = await connectMariadb(store.endpoint, `store ${store.name} database ${database}`);
  try {
    // TIMESTAMP columns print in the session's zone; DATETIME ones as stored.
    await connection.query("SET time_zone = '+00:00'");
    await connection.query('START TRANSACTION READ ONLY');
    const [found] = await connection.query({ sql: 'SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', rowsAsArray: true }, [database, table]);
    const columns = found as [string, string][];
    if (columns.length === 0) throw new RestoreproofError('E_CHECK', `table ${request.relation} does not exist in database ${database}`);
    // Column names are case-insensitive in MariaDB: `Created_At` reads created_at.
    const byName = new Map(columns.map(([name, type]) => [name.toLowerCase(), { name, kind: mariadbKind(type.toLowerCase()) }]));
    const missing = request.columns.filter((c) => !byName.has(c.toLowerCase()));
    if (missing.length) throw new MissingColumnError(`table ${request.relation}`, missing);
    const read = request.columns.map((c) => byName.get(c.toLowerCase())!);
    const kinds = read.map((c) => c.kind);
    const selected = read.map((c) => (c.kind === 'bytes' ? `LOWER(HEX(${quoteIdent(c.name)}))` : quoteIdent(c.name)));
    let sql = `SELECT ${selected.join(', ')} FROM ${quoteIdent(database)}.${quoteIdent(table)}`;
    if (request.sample) sql += ` WHERE ${quoteIdent(read[0]!.name)} IS NOT NULL ORDER BY RAND()`;
    // As PostgreSQL orders: NULLs last either way (MariaDB puts them first when ascending).
    else if (request.orderBy) {
      const by = quoteIdent(request.orderBy);
      sql += request.descending ? ` ORDER BY ${by} DESC` : ` ORDER BY ${by} IS NULL, ${by}`;
    }
    if (request.limit !== undefined) sql += ` LIMIT ${Number(request.limit)}`;
    const query = streamQuery(connection, { sql, typeCast: serverText }, request.signal);
    const n = kinds.length;
    return {
      columns: request.columns,
      rows: (async function* () {
        for await (const raw of query.rows) {
          const row = new Array<CellValue>(n);
          for (let i = 0; i < n; i++) {
            const v = raw[i];
            row[i] = v === null || v === undefined ? nullCell : { kind: kinds[i]!, text: String(v) };
          }
          yield row;
        }
      })(),
      close: () => query.close(),
    };
  } catch (err) {
    await connection.end().catch(() => {});
    throw err;
  }
}

/** Values stay the server's text (session time zone UTC); a check names a table as count does (`db.table`, backticks). */
export const mariadbRows: RowSource = {
  relation: 'table',
  describe: (_database, table) => table,
  stream: streamMariadb,
};
