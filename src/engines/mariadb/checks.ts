import type { Connection } from 'mysql2/promise';
import { evaluate } from '../../checks/expectations.ts';
import type { CheckContext, CheckOutcome, CheckRunner } from '../../checks/types.ts';
import type { BaselineCheckSpec, CountCheckSpec, Expectation, QueryCheckSpec, SchemaCheckSpec } from '../../drill/types.ts';
import { compareCounts } from '../../checks/compare-counts.ts';
import { compareSchema } from '../../checks/compare-schema.ts';
import { compareContent } from '../../checks/compare-content.ts';
import { contentDigest } from './content.ts';
import { schemaFingerprint } from './schema-fingerprint.ts';
import { loadBaselineFile } from '../../drill/baseline.ts';
import { countTables, listTables } from './baseline.ts';
import { quoteTableName, withMariadb } from './client.ts';

/** Checks read in one read-only transaction: they cannot change what they check. */
function readOnly<T>(context: CheckContext, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const what = `store ${context.store.name}${context.database ? ` database ${context.database}` : ''}`;
  return withMariadb(context.store.endpoint, what, context.database || undefined, async (connection) => {
    await connection.query('START TRANSACTION READ ONLY');
    try {
      return await fn(connection);
    } finally {
      await connection.query('ROLLBACK').catch(() => {});
    }
  });
}

/** The first column of the first row, or null when there is none. */
async function firstValue(connection: Connection, sql: string): Promise<unknown> {
  const [rows] = await connection.query({ sql, rowsAsArray: true });
  const value = Array.isArray(rows) ? (rows[0] as unknown[] | undefined)?.[0] : undefined;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return value ?? null;
}

/** The value against the check's expectation; `say` words the message (given why it failed, when it did). */
function judged(expect: Expectation, actual: unknown, say: (failed?: { expected: string; reason: string }) => string): CheckOutcome {
  const result = evaluate(expect, actual);
  return { passed: result.passed, expected: result.expected, actual, message: say(result.passed ? undefined : { expected: result.expected, reason: result.reason ?? '' }) };
}

/** Exact: SELECT COUNT(*), never information_schema's estimate. */
const count: CheckRunner<CountCheckSpec> = async (check, context) => {
  let table: string;
  try {
    if (!check.table) throw new Error('a mariadb count check needs table');
    table = quoteTableName(check.table);
  } catch (err) {
    return { passed: false, expected: evaluate(check.expect, 0).expected, actual: null, message: `invalid table name: ${(err as Error).message}` };
  }
  const sql = `SELECT COUNT(*) FROM ${table}${check.where ? ` WHERE ${check.where}` : ''}`;
  const actual = Number(await readOnly(context, (c) => firstValue(c, sql)));
  return judged(check.expect, actual, (why) => `${check.table} has ${actual} rows${why ? `, expected ${why.expected}` : ''}`);
};

const query: CheckRunner<QueryCheckSpec> = async (check, context) => {
  if (!check.sql) return { passed: false, expected: evaluate(check.expect, null).expected, actual: null, message: 'a mariadb query check needs sql' };
  const actual = await readOnly(context, (c) => firstValue(c, check.sql!));
  return judged(check.expect, actual, (why) => `query returned ${JSON.stringify(actual)}${why ? `: ${why.reason}` : ''}`);
};

/** Exact row counts of every table of the database against the baseline captured from the source, and its content digests when it has them. */
const baseline: CheckRunner<BaselineCheckSpec> = async (check, context) => {
  const file = await loadBaselineFile(check.baseline, context.drill.dir);
  const database = file.content.databases[context.database];
  if (!database) return { passed: false, expected: `baseline of ${context.database}`, actual: null, message: `${check.baseline} holds no database "${context.database}"; set database on the check` };
  const outcome = await readOnly(context, async (c) => {
    const restored = await countTables(c, context.database, await listTables(c, context.database));
    const counts = compareCounts(database.tables, restored, { absolute: check.tolerance?.absolute ?? 0, percent: check.tolerance?.percent ?? 0, extra: check.extraTables ?? 'warn', capturedAt: file.content.capturedAt, unit: 'tables' });
    return compareContent(counts, database, restored, { wanted: check.content, file: check.baseline, unit: 'tables', digest: (table) => contentDigest(c, context.database, table), damaged: context.damaged, database: context.database });
  });
  return { ...outcome, details: { baseline: { path: file.path, sha256: file.sha256, capturedAt: file.content.capturedAt, source: file.content.source } } };
};

/** Columns, indexes and constraints of the restored database against the fingerprint captured from the source. */
const schema: CheckRunner<SchemaCheckSpec> = async (check, context) => {
  const file = await loadBaselineFile(check.baseline, context.drill.dir);
  const expected = file.content.databases[context.database]?.schema;
  if (!expected?.sha256) return { passed: false, expected: `schema of database ${context.database}`, actual: null, message: `${check.baseline} holds no schema for database "${context.database}"; set database on the check, or capture the baseline again` };
  const actual = await readOnly(context, (c) => schemaFingerprint(c, context.database));
  return { ...compareSchema(expected, actual), details: { baseline: { path: file.path, sha256: file.sha256 } } };
};

export const mariadbChecks = { count, query, baseline, schema };
