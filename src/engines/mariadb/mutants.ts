// State mutants of a restored MariaDB store (`restoreproof mutate`): each damages one table and
// resolves to its exact undo. Rows a mutant deletes or changes are first copied into a run-owned
// stash database (restoreproof_stash_<random>), which the undo copies back and drops; a dropped
// table is renamed into the stash and renamed back. Every session runs with foreign_key_checks=0
// (no cascade fires, a parent can leave and come back) and sql_mode NO_AUTO_VALUE_ON_ZERO (a row
// put back keeps its AUTO_INCREMENT id, even 0), as mariadb-dump's own output does.
import { randomBytes } from 'node:crypto';
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import type { StoreSpecOf } from '../../drill/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import type { EngineMutants, MutantContext, StateMutant, StateMutantKind } from '../types.ts';
import { formatDuration } from '../../util/duration.ts';
import { quoteIdent, withMariadb } from './client.ts';

interface Column {
  name: string;
  type: string;
}

/** What the mutants of one table need to know, read once by `state`. */
interface Table {
  database: string;
  name: string;
  /** Columns a row is copied by (generated ones are computed again). */
  columns: Column[];
  /** The primary key, else a unique index on NOT NULL columns; undefined when the table has neither. */
  key?: string[];
  /** Secondary indexes, by name. */
  indexes: string[];
  hasRows: boolean;
}

/** 2h, 3d, 90m: a duration as a drill would write it. */
const durationText = (ms: number) => [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]].map(([unit, size]) => (ms % (size as number) === 0 ? `${ms / (size as number)}${unit}` : '')).find(Boolean) ?? formatDuration(ms);

const timestampTypes = new Set(['date', 'datetime', 'timestamp']);
const numberTypes = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real']);
const textTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

/** Changes that make a value differ, tried in order until one changes the row (a CHECK constraint or a range can refuse one). */
function changesOf(column: Column): string[] {
  const c = quoteIdent(column.name);
  if (numberTypes.has(column.type)) return [`COALESCE(${c} + 1, 1)`, `${c} - 1`];
  if (textTypes.has(column.type)) return [`IF(${c} <=> 'x', 'y', 'x')`];
  if (timestampTypes.has(column.type)) return [`COALESCE(${c} + INTERVAL 1 DAY, '2000-01-01')`, `${c} - INTERVAL 1 DAY`];
  return [];
}

const rowsOf = async <T>(connection: Connection, sql: string, values: unknown[]): Promise<T[]> => (await connection.query({ sql, rowsAsArray: true }, values))[0] as T[];

async function readTables(connection: Connection, database: string): Promise<Table[]> {
  const names = await rowsOf<[string]>(connection, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", [database]);
  // A trigger would write elsewhere when a mutant deletes or changes rows, and no undo could take that back.
  const triggered = new Set((await rowsOf<[string]>(connection, 'SELECT DISTINCT EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ?', [database])).map((r) => r[0]));
  const columns = await rowsOf<[string, string, string, string | null]>(connection, 'SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION', [database]);
  const stats = await rowsOf<[string, string, string, string, string, unknown]>(connection, 'SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, NULLABLE, SUB_PART FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX', [database]);
  const tables: Table[] = [];
  for (const [name] of names) {
    if (triggered.has(name)) continue;
    const indexes = new Map<string, { unique: boolean; columns: string[]; usable: boolean }>();
    for (const [table, index, nonUnique, column, nullable, subPart] of stats) {
      if (table !== name) continue;
      const entry = indexes.get(index) ?? { unique: String(nonUnique) === '0', columns: [], usable: true };
      entry.columns.push(column);
      if (nullable === 'YES' || subPart !== null || column === null) entry.usable = false;
      indexes.set(index, entry);
    }
    const unique = [...indexes].find(([index, i]) => index !== 'PRIMARY' && i.unique && i.usable);
    const key = indexes.get('PRIMARY')?.columns ?? unique?.[1].columns;
    const [exists] = await rowsOf<[number]>(connection, `SELECT EXISTS(SELECT 1 FROM ${quoteIdent(database)}.${quoteIdent(name)})`, []);
    tables.push({
      database, name,
      columns: columns.filter((c) => c[0] === name && !c[3]).map((c) => ({ name: c[1], type: c[2].toLowerCase() })),
      ...(key ? { key } : {}),
      indexes: [...indexes.keys()].filter((i) => i !== 'PRIMARY'),
      hasRows: Number(exists?.[0]) === 1,
    });
  }
  return tables;
}

/** A session that can take rows out and put them back exactly (see the file's comment). */
function session<T>(store: StartedStore, signal: AbortSignal, fn: (connection: Connection) => Promise<T>): Promise<T> {
  signal.throwIfAborted();
  return withMariadb(store.endpoint, `store ${store.name}`, undefined, async (connection) => {
    await connection.query("SET SESSION foreign_key_checks = 0, sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00'");
    return fn(connection);
  });
}

/** A stash database of this mutant's own, which its undo drops. */
async function createStash(connection: Connection): Promise<string> {
  const stash = `restoreproof_stash_${randomBytes(4).toString('hex')}`;
  await connection.query(`CREATE DATABASE ${quoteIdent(stash)}`);
  return stash;
}

const tableName = (table: Table) => `${quoteIdent(table.database)}.${quoteIdent(table.name)}`;
const columnList = (table: Table) => table.columns.map((c) => quoteIdent(c.name)).join(', ');
/** The order rows are taken in: by key, else by every column's bytes (rows that tie are identical). */
const orderOf = (table: Table, descending = false) =>
  (table.key ?? table.columns.map((c) => c.name)).map((c) => `${table.key ? quoteIdent(c) : `BINARY ${quoteIdent(c)}`}${descending ? ' DESC' : ''}`).join(', ');

/**
 * Copies the rows `select` names (`ORDER BY … LIMIT n`, or '' for all) into a stash, runs `damage`
 * on them, and returns the undo: `remove` the damaged rows (when they are still there), put the
 * stash back, drop it.
 */
async function withStashedRows(store: StartedStore, table: Table, signal: AbortSignal, select: (connection: Connection) => Promise<string>, damage: (connection: Connection, select: string) => Promise<void>, remove?: (stash: string) => string): Promise<() => Promise<void>> {
  const stash = await session(store, signal, async (connection) => {
    const stash = await createStash(connection);
    try {
      const copy = `${quoteIdent(stash)}.${quoteIdent(table.name)}`;
      await connection.query(`CREATE TABLE ${copy} LIKE ${tableName(table)}`);
      await connection.query('START TRANSACTION');
      const rows = await select(connection);
      await connection.query(`INSERT INTO ${copy} (${columnList(table)}) SELECT ${columnList(table)} FROM ${tableName(table)} ${rows}`);
      await damage(connection, rows);
      await connection.query('COMMIT');
      return stash;
    } catch (err) {
      await connection.query('ROLLBACK').catch(() => {});
      await connection.query(`DROP DATABASE ${quoteIdent(stash)}`).catch(() => {});
      throw err;
    }
  });
  return () =>
    session(store, new AbortController().signal, async (connection) => {
      const copy = `${quoteIdent(stash)}.${quoteIdent(table.name)}`;
      await connection.query('START TRANSACTION');
      // A multi-table DELETE resolves its target's alias in the default database.
      await connection.query(`USE ${quoteIdent(table.database)}`);
      if (remove) await connection.query(remove(stash));
      await connection.query(`INSERT INTO ${tableName(table)} (${columnList(table)}) SELECT ${columnList(table)} FROM ${copy}`);
      await connection.query('COMMIT');
      await connection.query(`DROP DATABASE ${quoteIdent(stash)}`);
    });
}

/** Deletes the first `count(rows)` rows in key order; the undo inserts them again. */
function deleteRows(store: StartedStore, table: Table, signal: AbortSignal, count: (rows: number) => number): Promise<() => Promise<void>> {
  return withStashedRows(store, table, signal, async (connection) => {
    const [total] = await rowsOf<[string]>(connection, `SELECT COUNT(*) FROM ${tableName(table)}`, []);
    return `ORDER BY ${orderOf(table)} LIMIT ${count(Number(total?.[0] ?? 0))}`;
  }, async (connection, rows) => {
    await connection.query(`DELETE FROM ${tableName(table)} ${rows}`);
  });
}

/** The newest row (greatest key): one column changed; the undo deletes the row and inserts the stashed copy, so ON UPDATE columns come back too. */
function changeNewest(store: StartedStore, table: Table, column: Column, signal: AbortSignal): Promise<() => Promise<void>> {
  const newest = `ORDER BY ${orderOf(table, true)} LIMIT 1`;
  const sameKey = table.key!.map((k) => `t.${quoteIdent(k)} <=> s.${quoteIdent(k)}`).join(' AND ');
  return withStashedRows(store, table, signal, async () => newest, async (connection) => {
    for (const change of changesOf(column)) {
      try {
        const [result] = await connection.query(`UPDATE ${tableName(table)} SET ${quoteIdent(column.name)} = ${change} ${newest}`);
        if ((result as ResultSetHeader).changedRows > 0) return;
      } catch {
        // Refused (a CHECK constraint, a range): the next change.
      }
    }
    throw new Error(`no change of ${column.name} was accepted in the newest row of ${table.database}.${table.name}`);
  }, (stash) => `DELETE t FROM ${tableName(table)} AS t JOIN ${quoteIdent(stash)}.${quoteIdent(table.name)} AS s ON ${sameKey}`);
}

/** Every date, datetime and timestamp column moved back by `byMs`; the undo puts the whole table back from its copy. */
function ageTimestamps(store: StartedStore, table: Table, columns: Column[], byMs: number, signal: AbortSignal): Promise<() => Promise<void>> {
  const set = columns.map((c) => `${quoteIdent(c.name)} = ${quoteIdent(c.name)} - INTERVAL ${Math.round(byMs * 1000)} MICROSECOND`).join(', ');
  return withStashedRows(store, table, signal, async () => '', async (connection) => {
    await connection.query(`UPDATE ${tableName(table)} SET ${set}`);
  }, () => `DELETE FROM ${tableName(table)}`);
}

/** Renamed into a stash database: the table and its indexes, constraints and rows leave and come back as they were. */
function dropTable(store: StartedStore, table: Table, signal: AbortSignal): Promise<() => Promise<void>> {
  return session(store, signal, async (connection) => {
    const stash = await createStash(connection);
    const hidden = `${quoteIdent(stash)}.${quoteIdent(table.name)}`;
    try {
      await connection.query(`RENAME TABLE ${tableName(table)} TO ${hidden}`);
    } catch (err) {
      await connection.query(`DROP DATABASE ${quoteIdent(stash)}`).catch(() => {});
      throw err;
    }
    return () =>
      session(store, new AbortController().signal, async (c) => {
        await c.query(`RENAME TABLE ${hidden} TO ${tableName(table)}`);
        await c.query(`DROP DATABASE ${quoteIdent(stash)}`);
      });
  });
}

/** An index's definition as SHOW CREATE TABLE writes it (`UNIQUE KEY \`name\` (…) …`), to add it back. */
export function indexDefinition(createTable: string, index: string): string | undefined {
  for (const line of createTable.split('\n')) {
    const m = /^\s*((?:UNIQUE |FULLTEXT |SPATIAL |VECTOR )?KEY `((?:[^`]|``)+)` .*?),?$/.exec(line);
    if (m && m[2]!.replace(/``/g, '`') === index) return m[1];
  }
  return undefined;
}

function dropIndex(store: StartedStore, table: Table, index: string, signal: AbortSignal): Promise<() => Promise<void>> {
  return session(store, signal, async (connection) => {
    const [shown] = await rowsOf<[string, string]>(connection, `SHOW CREATE TABLE ${tableName(table)}`, []);
    const definition = indexDefinition(shown?.[1] ?? '', index);
    if (!definition) throw new Error(`index ${index} of ${table.database}.${table.name} is not in SHOW CREATE TABLE`);
    await connection.query(`ALTER TABLE ${tableName(table)} DROP INDEX ${quoteIdent(index)}`);
    return () =>
      session(store, new AbortController().signal, async (c) => {
        await c.query(`ALTER TABLE ${tableName(table)} ADD ${definition}`);
      });
  });
}

function mutantsOf(store: StartedStore, table: Table, context: MutantContext): StateMutant[] {
  const { database, name } = table;
  const shown = `${database}.${name}`;
  const mutant = (kind: StateMutantKind, description: string, hint: string, apply: StateMutant['apply'], part?: string): StateMutant => ({
    id: `${kind}:${database}/${name}${part !== undefined ? `/${part}` : ''}`, kind, target: `${database}/${name}${part !== undefined ? `/${part}` : ''}`, description, hint, apply,
  });
  const counted = `add a baseline or count check on ${shown}`;
  const mutants: StateMutant[] = [];
  if (table.hasRows) {
    mutants.push(
      mutant('delete-row', `deleting 1 row of ${shown}`, counted, (signal) => deleteRows(store, table, signal, () => 1)),
      mutant('delete-tenth', `deleting 10% of the rows of ${shown}`, counted, (signal) => deleteRows(store, table, signal, (rows) => Math.max(1, Math.floor(rows / 10)))),
    );
  }
  mutants.push(mutant('drop-relation', `dropping table ${shown}`, `add a baseline, schema or count check on ${shown}`, (signal) => dropTable(store, table, signal)));
  const keyed = new Set(table.key ?? []);
  const changeable = table.key && table.hasRows ? table.columns.find((c) => !keyed.has(c.name) && changesOf(c).length > 0) : undefined;
  if (changeable) {
    mutants.push(mutant('change-newest', `changing ${changeable.name} in the newest row of ${shown}`, `add a query check on the newest row of ${shown}, or an auditChain check`, (signal) => changeNewest(store, table, changeable, signal)));
  }
  for (const index of table.indexes) {
    mutants.push(mutant('drop-index', `dropping index ${index} of ${shown}`, `add a schema check on ${database}`, (signal) => dropIndex(store, table, index, signal), index));
  }
  const timestamps = table.columns.filter((c) => timestampTypes.has(c.type));
  if (context.rpoMs !== undefined && table.hasRows && timestamps.length) {
    const byMs = 2 * context.rpoMs;
    mutants.push(mutant('age-timestamps', `moving every timestamp column of ${shown} back by ${durationText(byMs)} (twice the RPO)`, `add a freshness check on ${shown}`, (signal) => ageTimestamps(store, table, timestamps, byMs, signal)));
  }
  return mutants;
}

/**
 * For every base table of each database, in name order: delete-row, delete-tenth, drop-relation,
 * change-newest, drop-index (each secondary index) and age-timestamps (when the drill has an RPO).
 * Empty tables get no row mutants; tables with triggers get none at all (see readTables).
 */
export const mariadbMutants: EngineMutants<StoreSpecOf<'mariadb'>> = {
  kinds: ['delete-row', 'delete-tenth', 'drop-relation', 'change-newest', 'drop-index', 'age-timestamps'],
  async state(store, _spec, context) {
    const tables = await withMariadb(store.endpoint, `store ${store.name}`, undefined, async (connection) => {
      const all: Table[] = [];
      for (const database of context.databases) all.push(...(await readTables(connection, database)));
      return all;
    });
    return tables.flatMap((table) => mutantsOf(store, table, context));
  },
};
