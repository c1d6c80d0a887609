import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { RestoreproofError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { MissingColumnError, nullCell, type CellValue, type RowRequest, type RowSource, type RowStream, type ValueKind } from '../rows.ts';
import { connectPostgres } from './connect.ts';
import { quoteQualifiedName } from './identifiers.ts';

const numberOids = new Set([20, 21, 23, 26, 700, 701, 1700]);
const timestampOids = new Set([1114, 1184]);
function pgKind(oid: number): ValueKind {
  if (numberOids.has(oid)) return 'number';
  if (timestampOids.has(oid)) return 'timestamp';
  if (oid === 16) return 'boolean';
  if (oid === 17) return 'bytes';
  return 'text';
}

/** Raw text for every type: formatting is the check's business, not the driver's. */
const rawTypes = { getTypeParser: () => (text: string) => text };

async function streamPostgres(store: StartedStore, request: RowRequest): Promise<RowStream> {
  const { database } = request;
  const client = await connectPostgres({ ...store.endpoint, database }, `store ${store.name} database ${database}`, request.signal);
  try {
    await client.query("set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set intervalstyle = 'iso_8601'; set bytea_output = 'hex'");
    await client.query('begin isolation level repeatable read read only');
    let table: string;
    try {
      table = quoteQualifiedName(request.relation);
    } catch (err) {
      throw new RestoreproofError('E_CHECK', `invalid table name ${request.relation}: ${(err as Error).message}`);
    }
    const { rows: found } = await client.query<{ name: string; oid: number }>(
      `select a.attname as name, coalesce(nullif(t.typbasetype, 0), a.atttypid)::int as oid
         from pg_attribute a join pg_type t on t.oid = a.atttypid
        where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
      [table],
    );
    if (found.length === 0) throw new RestoreproofError('E_CHECK', `table ${request.relation} does not exist in database ${database}`);
    const types = new Map(found.map((c) => [c.name, c.oid]));
    const missing = request.columns.filter((c) => !types.has(c));
    if (missing.length) throw new MissingColumnError(`table ${request.relation}`, missing);
    const kinds = request.columns.map((c) => pgKind(types.get(c)!));
    const q = pg.escapeIdentifier;
    let sql = `select ${request.columns.map((c) => q(c)).join(', ')} from ${table}`;
    if (request.sample) sql += ` where ${q(request.columns[0]!)} is not null order by random()`;
    else if (request.orderBy) sql += ` order by ${q(request.orderBy)} ${request.descending ? 'desc nulls last' : 'asc'}`;
    if (request.limit !== undefined) sql += ` limit ${Number(request.limit)}`;
    const stream = client.query(new QueryStream(sql, [], { batchSize: 10_000, highWaterMark: 10_000, rowMode: 'array', types: rawTypes }));
    const n = kinds.length;
    return {
      columns: request.columns,
      rows: (async function* () {
        for await (const raw of stream as AsyncIterable<(string | null)[]>) {
          const row = new Array<CellValue>(n);
          for (let i = 0; i < n; i++) {
            const v = raw[i];
            row[i] = v === null || v === undefined ? nullCell : { kind: kinds[i]!, text: kinds[i] === 'bytes' ? v.slice(2) : v };
          }
          yield row;
        }
      })(),
      close: async () => {
        await client.query('rollback').catch(() => {});
        await client.end().catch(() => {});
      },
    };
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/** Values stay the server's text (session time zone UTC, DateStyle ISO). */
export const postgresRows: RowSource = {
  relation: 'table',
  describe: (_database, table) => table,
  stream: streamPostgres,
};
