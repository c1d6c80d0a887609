import type pg from 'pg';
import { RestoreproofError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { MissingColumnError, type KeySplitRequest, type RowReader, type RowRequest, type RowSource, type RowStream, type ValueKind } from '../rows.ts';
import { connectPostgres } from './connect.ts';
import { CopyOut } from './copy-out.ts';
import { CopyTextParser } from './copy-text.ts';
import { quoteIdentifier, quoteQualifiedName } from './identifiers.ts';

const numberOids = new Set([20, 21, 23, 26, 700, 701, 1700]);
const timestampOids = new Set([1114, 1184]);
function pgKind(oid: number): ValueKind {
  if (numberOids.has(oid)) return 'number';
  if (timestampOids.has(oid)) return 'timestamp';
  if (oid === 16) return 'boolean';
  if (oid === 17) return 'bytes';
  return 'text';
}

/** A connection in a read-only snapshot whose text output is the same for every reader (UTC, ISO, hex bytea). */
async function readingSession(store: StartedStore, database: string, signal: AbortSignal): Promise<pg.Client> {
  const client = await connectPostgres({ ...store.endpoint, database }, `store ${store.name} database ${database}`, signal);
  try {
    await client.query("set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set intervalstyle = 'iso_8601'; set bytea_output = 'hex'");
    await client.query('begin isolation level repeatable read read only');
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

function tableName(relation: string): string {
  try {
    return quoteQualifiedName(relation);
  } catch (err) {
    throw new RestoreproofError('E_CHECK', `invalid table name ${relation}: ${(err as Error).message}`);
  }
}

async function columnTypes(client: pg.Client, table: string, relation: string, database: string): Promise<Map<string, number>> {
  const { rows: found } = await client.query<{ name: string; oid: number }>(
    `select a.attname as name, coalesce(nullif(t.typbasetype, 0), a.atttypid)::int as oid
       from pg_attribute a join pg_type t on t.oid = a.atttypid
      where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
    [table],
  );
  if (found.length === 0) throw new RestoreproofError('E_CHECK', `table ${relation} does not exist in database ${database}`);
  return new Map(found.map((c) => [c.name, c.oid]));
}

/**
 * `COPY (select …) TO STDOUT` in text format over `client`: the server's text for every type, parsed
 * from the bytes. `close(finished)`: whether the COPY ran to its end (the connection is then free).
 */
async function copyRows(client: pg.Client, request: Omit<RowRequest, 'database'>, types: Map<string, number>, close: (finished: boolean) => Promise<void>): Promise<RowStream> {
  const table = tableName(request.relation);
  const missing = request.columns.filter((c) => !types.has(c));
  if (missing.length) throw new MissingColumnError(`table ${request.relation}`, missing);
  const kinds = request.columns.map((c) => pgKind(types.get(c)!));
  const q = quoteIdentifier;
  let sql = `select ${request.columns.map((c) => q(c)).join(', ')} from ${table}`;
  const bounds: string[] = [];
  if (request.range?.from !== undefined) bounds.push(`${q(request.orderBy!)} >= ${client.escapeLiteral(request.range.from)}`);
  if (request.range?.to !== undefined) bounds.push(`${q(request.orderBy!)} <= ${client.escapeLiteral(request.range.to)}`);
  if (request.sample) bounds.push(`${q(request.columns[0]!)} is not null`);
  if (bounds.length) sql += ` where ${bounds.join(' and ')}`;
  if (request.sample) sql += ' order by random()';
  else if (request.orderBy) sql += ` order by ${q(request.orderBy)} ${request.descending ? 'desc nulls last' : 'asc'}`;
  if (request.limit !== undefined) sql += ` limit ${Number(request.limit)}`;
  const copy = client.query(new CopyOut(`copy (${sql}) to stdout`));
  let finished = false;
  // One row array and one lazily decoded cell per column, reused: consumers read a row before taking the next.
  const parser = new CopyTextParser(kinds);
  const batches = (async function* () {
    yield* copy.batches((buf, start, end) => {
      if (buf[end - 1] !== 10) throw new Error('a COPY row does not end with a newline');
      return parser.row(buf, start, end - 1);
    });
    finished = true;
  })();
  return {
    columns: request.columns,
    batches,
    rows: (async function* () {
      for await (const batch of batches) yield* batch;
    })(),
    close: async () => {
      if (!finished) copy.abandon();
      await close(finished);
    },
  };
}

async function streamPostgres(store: StartedStore, request: RowRequest): Promise<RowStream> {
  const { database } = request;
  const client = await readingSession(store, database, request.signal);
  try {
    const types = await columnTypes(client, tableName(request.relation), request.relation, database);
    return await copyRows(client, request, types, async (finished) => {
      if (finished) await client.query('rollback').catch(() => {});
      await client.end().catch(() => {});
    });
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/**
 * One session for streams one after another (RowSource.reader), in one snapshot: a range verifier's
 * ranges cost a query each, not a connection, authentication and session setup. A stream given up
 * midway ends the session; the next one opens another.
 */
async function postgresReader(store: StartedStore, database: string, signal: AbortSignal): Promise<RowReader> {
  let session: pg.Client | undefined = await readingSession(store, database, signal);
  const tableTypes = new Map<string, Map<string, number>>();
  const end = async (client: pg.Client) => {
    if (session === client) session = undefined;
    await client.end().catch(() => {});
  };
  return {
    async stream(request) {
      const client = (session ??= await readingSession(store, database, request.signal));
      try {
        const table = tableName(request.relation);
        let types = tableTypes.get(table);
        if (!types) tableTypes.set(table, (types = await columnTypes(client, table, request.relation, database)));
        return await copyRows(client, request, types, async (finished) => {
          if (!finished) await end(client);
        });
      } catch (err) {
        await end(client);
        throw err;
      }
    },
    async close() {
      if (!session) return;
      const client = session;
      await client.query('rollback').catch(() => {});
      await end(client);
    },
  };
}

const integerOids = new Set([20, 21, 23]);

/**
 * Keys that cut the table into `parts` ranges of about equal row count, read with its ordering; [] when
 * the key cannot cut it safely: no single-column unique index without a predicate, a nullable column
 * (nulls sort outside any range), or fewer than `minRowsPerRange` rows a part. Cheap next to the
 * verification it splits: the row count is the planner's (exact count only when there is none), and an
 * integer key is cut by value between its min and max (index lookups), at the first key at or above
 * each cut; other keys by position.
 */
async function splitPostgres(store: StartedStore, request: KeySplitRequest): Promise<string[]> {
  const client = await readingSession(store, request.database, request.signal);
  try {
    const table = tableName(request.relation);
    const { rows: unique } = await client.query<{ oid: number; estimate: number }>(
      `select a.atttypid::int as oid, c.reltuples::float8 as estimate
         from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0] join pg_class c on c.oid = i.indrelid
        where i.indrelid = to_regclass($1) and i.indisunique and i.indnkeyatts = 1 and i.indpred is null and i.indexprs is null
          and a.attname = $2 and a.attnotnull limit 1`,
      [table, request.orderBy],
    );
    if (unique.length === 0) return [];
    let rows = unique[0]!.estimate;
    if (!(rows > 0)) rows = Number((await client.query<{ n: string }>(`select count(*)::text as n from ${table}`)).rows[0]!.n);
    const parts = Math.min(request.parts, Math.floor(rows / request.minRowsPerRange));
    if (parts < 2) return [];
    const key = quoteIdentifier(request.orderBy);
    const keys: string[] = [];
    if (integerOids.has(unique[0]!.oid)) {
      const { rows: bounds } = await client.query<{ low: string; high: string }>(`select min(${key})::text as low, max(${key})::text as high from ${table}`);
      const low = BigInt(bounds[0]!.low);
      const span = BigInt(bounds[0]!.high) - low + 1n;
      for (let i = 1; i < parts; i++) {
        // As by position when the keys are dense: the (span·i/parts)-th key.
        const cut = low + (span * BigInt(i) + BigInt(parts) / 2n) / BigInt(parts) - 1n;
        const { rows: at } = await client.query<{ k: string }>(`select ${key}::text as k from ${table} where ${key} >= $1 order by ${key} limit 1`, [cut.toString()]);
        const found = at[0]?.k;
        if (found !== undefined && found !== keys.at(-1)) keys.push(found);
      }
      return keys;
    }
    for (let i = 1; i < parts; i++) {
      const { rows: at } = await client.query<{ k: string }>(`select ${key}::text as k from ${table} order by ${key} offset $1 limit 1`, [Math.round((i * rows) / parts) - 1]);
      if (at[0]) keys.push(at[0].k);
    }
    return keys;
  } finally {
    await client.query('rollback').catch(() => {});
    await client.end().catch(() => {});
  }
}

/** Values stay the server's text (session time zone UTC, DateStyle ISO). */
export const postgresRows: RowSource = {
  relation: 'table',
  describe: (_database, table) => table,
  stream: streamPostgres,
  reader: postgresReader,
  splitKeys: splitPostgres,
  module: import.meta.url,
};

/** What worker threads load from this module (RowSource.module). */
export const rowSource = postgresRows;
