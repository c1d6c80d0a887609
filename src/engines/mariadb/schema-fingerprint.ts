// The schema fingerprint of one MariaDB (or MySQL) database, read from information_schema: what a
// restore must bring back besides the rows. Lines never name the database itself, so a dump restored
// under another name (`database: copy`) compares equal.
import type { Connection } from 'mysql2/promise';
import type { SchemaFingerprint } from '../../checks/compare-schema.ts';
import { sha256 } from '../../util/hash.ts';
import { quoteIdent } from './client.ts';

type Row = Record<string, unknown>;

/** A name as the lines show it: bare when plain, else backtick-quoted, so `a.b` never reads as a table and a column. */
const shown = (name: unknown) => (/^[A-Za-z0-9_$]+$/.test(String(name)) ? String(name) : quoteIdent(String(name)));

async function rowsOf(connection: Connection, sql: string, database: string): Promise<Row[]> {
  const [rows] = await connection.query(sql, [database]);
  return rows as Row[];
}

/** One value of a row whatever case the server gives its information_schema column names. */
const field = (row: Row, name: string): unknown => row[name] ?? row[name.toLowerCase()] ?? null;

/**
 * Tables and views, columns (type, nullability, default, extra such as auto_increment, generation
 * expression), indexes (uniqueness, type, columns with prefix length and direction) and primary,
 * unique, foreign-key and check constraints, one sorted line each. Reads on the caller's
 * transaction. Engines, collations, owners and grants are left out.
 */
export async function schemaFingerprint(connection: Connection, database: string): Promise<SchemaFingerprint> {
  const lines: string[] = [];
  const tables = await rowsOf(connection, 'SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', database);
  const baseTables = new Set<string>();
  for (const t of tables) {
    const type = String(field(t, 'TABLE_TYPE'));
    if (type === 'BASE TABLE') baseTables.add(String(field(t, 'TABLE_NAME')));
    lines.push(`${type === 'BASE TABLE' ? 'table' : type.toLowerCase()} ${shown(field(t, 'TABLE_NAME'))}`);
  }

  for (const c of await rowsOf(connection, 'SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?', database)) {
    if (!baseTables.has(String(field(c, 'TABLE_NAME')))) continue;
    const fallback = field(c, 'COLUMN_DEFAULT');
    const extra = String(field(c, 'EXTRA') ?? '').toLowerCase();
    const generated = field(c, 'GENERATION_EXPRESSION');
    lines.push(
      `column ${shown(field(c, 'TABLE_NAME'))}.${shown(field(c, 'COLUMN_NAME'))} ${String(field(c, 'COLUMN_TYPE'))}` +
        (field(c, 'IS_NULLABLE') === 'NO' ? ' not null' : '') +
        (fallback !== null ? ` default ${String(fallback)}` : '') +
        (extra ? ` ${extra}` : '') +
        (generated ? ` as (${String(generated)})` : ''),
    );
  }

  const indexes = new Map<string, { head: string; parts: string[] }>();
  for (const s of await rowsOf(connection, 'SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX', database)) {
    const key = `index ${shown(field(s, 'TABLE_NAME'))}.${shown(field(s, 'INDEX_NAME'))}`;
    let index = indexes.get(key);
    if (!index) indexes.set(key, (index = { head: `${String(field(s, 'NON_UNIQUE')) === '0' ? 'unique ' : ''}${String(field(s, 'INDEX_TYPE'))}`, parts: [] }));
    const column = field(s, 'COLUMN_NAME');
    const prefix = field(s, 'SUB_PART');
    // MySQL 8's functional key parts have no column, only an expression.
    const part = column !== null ? shown(column) : `(${String(field(s, 'EXPRESSION'))})`;
    index.parts.push(`${part}${prefix !== null ? `(${String(prefix)})` : ''}${field(s, 'COLLATION') === 'D' ? ' desc' : ''}`);
  }
  for (const [key, index] of indexes) lines.push(`${key}: ${index.head} (${index.parts.join(', ')})`);

  lines.push(...(await constraintLines(connection, database)));
  lines.sort();
  return { sha256: sha256(lines.join('\n')), objects: lines };
}

async function constraintLines(connection: Connection, database: string): Promise<string[]> {
  const keyColumns = new Map<string, Row[]>();
  for (const k of await rowsOf(connection, 'SELECT * FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION', database)) {
    const key = `${String(field(k, 'TABLE_NAME'))}\0${String(field(k, 'CONSTRAINT_NAME'))}`;
    keyColumns.set(key, [...(keyColumns.get(key) ?? []), k]);
  }
  const rules = new Map<string, Row>();
  for (const r of await rowsOf(connection, 'SELECT * FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?', database)) {
    rules.set(`${String(field(r, 'TABLE_NAME'))}\0${String(field(r, 'CONSTRAINT_NAME'))}`, r);
  }
  // MariaDB names a check constraint per table (its CHECK_CONSTRAINTS has TABLE_NAME); MySQL 8 per schema.
  const checks = new Map<string, string>();
  for (const c of await rowsOf(connection, 'SELECT * FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?', database)) {
    checks.set(`${String(field(c, 'TABLE_NAME') ?? '')}\0${String(field(c, 'CONSTRAINT_NAME'))}`, String(field(c, 'CHECK_CLAUSE')));
  }
  const lines: string[] = [];
  for (const t of await rowsOf(connection, 'SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?', database)) {
    const table = String(field(t, 'TABLE_NAME'));
    const name = String(field(t, 'CONSTRAINT_NAME'));
    const type = String(field(t, 'CONSTRAINT_TYPE'));
    const key = `${table}\0${name}`;
    const columns = (keyColumns.get(key) ?? []).map((k) => shown(field(k, 'COLUMN_NAME'))).join(', ');
    let definition: string;
    if (type === 'CHECK') definition = `CHECK (${checks.get(key) ?? checks.get(`\0${name}`) ?? '?'})`;
    else if (type === 'FOREIGN KEY') {
      const used = keyColumns.get(key) ?? [];
      const first = used[0] ?? {};
      const schema = field(first, 'REFERENCED_TABLE_SCHEMA');
      const target = `${schema !== null && schema !== database ? `${shown(schema)}.` : ''}${shown(field(first, 'REFERENCED_TABLE_NAME'))}`;
      const rule = rules.get(key) ?? {};
      definition = `FOREIGN KEY (${columns}) REFERENCES ${target} (${used.map((k) => shown(field(k, 'REFERENCED_COLUMN_NAME'))).join(', ')}) ON UPDATE ${String(field(rule, 'UPDATE_RULE'))} ON DELETE ${String(field(rule, 'DELETE_RULE'))}`;
    } else definition = `${type} (${columns})`;
    lines.push(`constraint ${shown(table)}.${shown(name)}: ${definition}`);
  }
  return lines;
}
