import type { Document } from 'mongodb';
import { newMongoClient } from '../engines/mongodb/client.ts';
import pg from 'pg';
import QueryStream from 'pg-query-stream';
import { connectPostgres } from '../engines/postgres/connect.ts';
import { quoteQualifiedName } from '../engines/postgres/identifiers.ts';
import { RestoreproofError } from '../errors.ts';
import type { StartedStore } from '../runtimes/types.ts';

/** What a value is, so it can be formatted the way the application formatted it. */
export type ValueKind = 'null' | 'text' | 'number' | 'boolean' | 'timestamp' | 'bytes';

/**
 * A value read for a check, in one shape for both engines: PostgreSQL values stay the server's text
 * (session time zone UTC, DateStyle ISO), MongoDB values become the same text forms.
 */
export interface CellValue {
  kind: ValueKind;
  /** Text form: PostgreSQL's output; for timestamps `YYYY-MM-DD HH:MM:SS[.ffffff][+00]`; bytes as hex. */
  text: string;
}

export const nullCell: CellValue = { kind: 'null', text: '' };

/** A table or collection streamed in order, columns by name. Memory stays flat: rows are yielded as read. */
export interface RowStream {
  /** Columns in the order of each yielded row. */
  columns: string[];
  rows: AsyncIterable<CellValue[]>;
  close(): Promise<void>;
}

export class MissingColumnError extends RestoreproofError {
  constructor(where: string, columns: string[]) {
    super('E_CHECK', `${where} has no column ${columns.map((c) => `"${c}"`).join(', ')}`);
  }
}

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

export interface StreamRequest {
  store: StartedStore;
  engine: 'postgres' | 'mongodb';
  database: string;
  table?: string;
  collection?: string;
  columns: string[];
  /** Ascending order by this column; none: server order. */
  orderBy?: string;
  /** Descending instead. */
  descending?: boolean;
  limit?: number;
  /** Random sample of `limit` rows where the first column is not null. */
  sample?: boolean;
  signal: AbortSignal;
}

export async function streamRows(request: StreamRequest): Promise<RowStream> {
  return request.engine === 'postgres' ? streamPostgres(request) : streamMongo(request);
}

async function streamPostgres(request: StreamRequest): Promise<RowStream> {
  const { store, database } = request;
  const client = await connectPostgres({ ...store.endpoint, database }, `store ${store.name} database ${database}`, request.signal);
  try {
    await client.query("set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set intervalstyle = 'iso_8601'; set bytea_output = 'hex'");
    await client.query('begin isolation level repeatable read read only');
    let table: string;
    try {
      table = quoteQualifiedName(request.table!);
    } catch (err) {
      throw new RestoreproofError('E_CHECK', `invalid table name ${request.table}: ${(err as Error).message}`);
    }
    const { rows: found } = await client.query<{ name: string; oid: number }>(
      `select a.attname as name, coalesce(nullif(t.typbasetype, 0), a.atttypid)::int as oid
         from pg_attribute a join pg_type t on t.oid = a.atttypid
        where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
      [table],
    );
    if (found.length === 0) throw new RestoreproofError('E_CHECK', `table ${request.table} does not exist in database ${database}`);
    const types = new Map(found.map((c) => [c.name, c.oid]));
    const missing = request.columns.filter((c) => !types.has(c));
    if (missing.length) throw new MissingColumnError(`table ${request.table}`, missing);
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

/** A Date as PostgreSQL prints a UTC timestamptz (ms precision). */
function dateText(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '+00');
}

export function mongoCell(value: unknown): CellValue {
  if (value === null || value === undefined) return nullCell;
  if (typeof value === 'string') return { kind: 'text', text: value };
  if (typeof value === 'number') return { kind: 'number', text: String(value) };
  if (typeof value === 'boolean') return { kind: 'boolean', text: value ? 'true' : 'false' };
  if (value instanceof Date) return { kind: 'timestamp', text: dateText(value) };
  const bson = (value as { _bsontype?: string })._bsontype;
  if (bson === 'ObjectId') return { kind: 'text', text: (value as { toHexString(): string }).toHexString() };
  if (bson === 'Long' || bson === 'Decimal128' || bson === 'Int32' || bson === 'Double') return { kind: 'number', text: String(value) };
  if (bson === 'Binary') return { kind: 'bytes', text: Buffer.from((value as { buffer: Uint8Array }).buffer).toString('hex') };
  return { kind: 'text', text: JSON.stringify(value) };
}

function pickPath(doc: Document, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

async function streamMongo(request: StreamRequest): Promise<RowStream> {
  const client = await newMongoClient(request.store.url(), { serverSelectionTimeoutMS: 5000, directConnection: true }, request.signal);
  await client.connect();
  try {
    const collection = client.db(request.database).collection(request.collection!);
    const projection: Document = { _id: 0 };
    for (const c of request.columns) projection[c] = 1;
    if (request.columns.includes('_id')) projection._id = 1;
    // A field every document lacks is a missing column; the first document decides.
    const first = await collection.findOne({}, { projection });
    if (first) {
      const missing = request.columns.filter((c) => pickPath(first, c) === undefined);
      if (missing.length) throw new MissingColumnError(`collection ${request.database}.${request.collection} (first document)`, missing);
    }
    let cursor;
    if (request.sample) {
      cursor = collection.aggregate([{ $match: { [request.columns[0]!]: { $ne: null } } }, { $sample: { size: request.limit ?? 20 } }, { $project: projection }]);
    } else {
      cursor = collection.find({}, { projection, batchSize: 5000 });
      if (request.orderBy) cursor = cursor.sort({ [request.orderBy]: request.descending ? -1 : 1 });
      if (request.limit !== undefined) cursor = cursor.limit(request.limit);
    }
    const columns = request.columns;
    return {
      columns,
      rows: (async function* () {
        for await (const doc of cursor) yield columns.map((c) => mongoCell(pickPath(doc, c)));
      })(),
      close: () => client.close().catch(() => {}),
    };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}
