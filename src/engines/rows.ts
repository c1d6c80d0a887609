// Row streaming, the capability the row-reading checks (auditChain, decrypt, freshness) need of an
// engine: each engine that has it streams its tables or collections in this one value shape.
import { RestoreproofError } from '../errors.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { CheckType } from '../drill/types.ts';

/** The check types any engine with `rows` answers. */
export const rowCheckTypes = ['auditChain', 'decrypt', 'freshness'] as const satisfies readonly CheckType[];

/** What a value is, so it can be formatted the way the application formatted it. */
export type ValueKind = 'null' | 'text' | 'number' | 'boolean' | 'timestamp' | 'bytes';

/**
 * A value read for a check, in one shape for every engine: the text an SQL server prints (time zone
 * UTC, ISO dates), which other engines' values are turned into.
 */
export interface CellValue {
  kind: ValueKind;
  /** Text form: for timestamps `YYYY-MM-DD HH:MM:SS[.ffffff][+00]`; bytes as hex. */
  text: string;
}

export const nullCell: CellValue = { kind: 'null', text: '' };

/**
 * A cell that may have its text at hand as UTF-8 bytes, `utf8[start, end)`, so a reader can copy
 * them without decoding a string; valid until the next row. `utf8` undefined: read `text`.
 */
export interface Utf8Cell extends CellValue {
  readonly utf8: Uint8Array | undefined;
  readonly start: number;
  readonly end: number;
}

/** The UTF-8 bytes of a cell's text, when the engine has them at hand. */
export function utf8Of(cell: CellValue): Utf8Cell | undefined {
  return (cell as Partial<Utf8Cell>).utf8 ? (cell as Utf8Cell) : undefined;
}

/**
 * A table or collection streamed in order, columns by name. Memory stays flat: rows are yielded as read.
 * A yielded row (and its cells) may be reused for the next one: read it before taking the next.
 */
export interface RowStream {
  /** Columns in the order of each yielded row. */
  columns: string[];
  rows: AsyncIterable<CellValue[]>;
  /** The same rows grouped as they arrive, when the engine can: no await per row. Read either this or `rows`. */
  batches?: AsyncIterable<Iterable<CellValue[]>>;
  close(): Promise<void>;
}

/** Streams over one connection, one at a time; `close` ends the connection. */
export interface RowReader {
  stream(request: Omit<RowRequest, 'database'>): Promise<RowStream>;
  close(): Promise<void>;
}

/** A stream's rows in batches: its own, or one row a batch. */
export function rowBatches(stream: RowStream): AsyncIterable<Iterable<CellValue[]>> {
  return stream.batches ?? (async function* () {
    for await (const row of stream.rows) yield [row];
  })();
}

export class MissingColumnError extends RestoreproofError {
  constructor(where: string, columns: string[]) {
    super('E_CHECK', `${where} has no column ${columns.map((c) => `"${c}"`).join(', ')}`);
  }
}

/** What a row-reading check (auditChain, decrypt, freshness) asks of the store. */
export interface RowRequest {
  database: string;
  /** The table or collection, as the check names it. */
  relation: string;
  columns: string[];
  /** Ascending order by this column; none: server order. */
  orderBy?: string;
  /** Only rows whose `orderBy` key lies in this range (ascending order; keys as the store prints them). */
  range?: KeyRange;
  /** Descending instead. */
  descending?: boolean;
  limit?: number;
  /** Random sample of `limit` rows where the first column is not null. */
  sample?: boolean;
  signal: AbortSignal;
}

/** Keys `from` ≤ key ≤ `to`, both ends included; an end left out is open. */
export interface KeyRange {
  from?: string;
  to?: string;
}

/** How to cut a relation into ranges of its ordering key, for reading them in parallel. */
export interface KeySplitRequest {
  database: string;
  relation: string;
  orderBy: string;
  /** At most this many ranges. */
  parts: number;
  /** No range smaller than this: a smaller relation is not cut. */
  minRowsPerRange: number;
  signal: AbortSignal;
}

/** Engines whose tables (or collections) stream row by row, in one value shape, for the row-reading checks. */
export interface RowSource {
  /** The check field that names what is read: `table` or `collection`. */
  readonly relation: 'table' | 'collection';
  /** How messages name a relation of a database (a collection is named with its database). */
  describe(database: string, relation: string): string;
  stream(store: StartedStore, request: RowRequest): Promise<RowStream>;
  /** One connection to a database for streams one after another (close each stream before the next). Optional. */
  reader?(store: StartedStore, database: string, signal: AbortSignal): Promise<RowReader>;
  /**
   * The keys that cut a relation into ranges of about equal size (n keys, n + 1 ranges), or [] when its
   * ordering key cannot be cut safely (not unique, nullable) or the relation is small. Optional.
   */
  splitKeys?(store: StartedStore, request: KeySplitRequest): Promise<string[]>;
  /** URL of a module exporting this source as `rowSource`, so worker threads can stream ranges. */
  readonly module?: string;
}

/** What a row-reading check reads: the relation its spec names for this engine, and how messages call it. */
export function rowTarget(check: { table?: string; collection?: string }, rows: RowSource, database: string): { relation: string; where: string } {
  const relation = check[rows.relation]!;
  return { relation, where: rows.describe(database, relation) };
}
