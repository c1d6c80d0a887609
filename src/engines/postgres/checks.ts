import type pg from 'pg';
import { evaluate } from '../../checks/expectations.ts';
import type { CheckContext, CheckOutcome, CheckRunner } from '../../checks/types.ts';
import { loadBaselineFile, type LoadedBaseline } from '../../drill/baseline.ts';
import type { BaselineCheckSpec, CountCheckSpec, QueryCheckSpec, SchemaCheckSpec } from '../../drill/types.ts';
import { connectPostgres, readOnly } from './connect.ts';
import { quoteQualifiedName } from './identifiers.ts';
import { countOnce } from '../counts.ts';
import { listTables, schemaFingerprint } from './introspect.ts';
import { compareSchema } from '../../checks/compare-schema.ts';
import { compareContent } from '../../checks/compare-content.ts';
import { contentDigest } from './content.ts';

async function withDatabase<T>(context: CheckContext, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPostgres({ ...context.store.endpoint, database: context.database }, `store ${context.store.name} database ${context.database}`, context.signal);
  try {
    return await readOnly(client, () => fn(client));
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A table's whole row count (exact count(*), never the planner's estimate), read once per run and
 * shared by count and baseline: the table is known by its oid, however the drill spelled its name.
 */
async function tableCount(context: CheckContext, client: pg.Client, quotedName: string): Promise<number> {
  const read = async () => Number((await client.query<{ n: string }>(`select count(*) as n from ${quotedName}`)).rows[0]?.n);
  const oid = (await client.query<{ oid: string | null }>('select to_regclass($1)::oid::text as oid', [quotedName])).rows[0]?.oid;
  // An unknown name is counted as is, so the error is the server's own ("relation … does not exist").
  return oid ? countOnce(context.store, `${context.database}\u0000${oid}`, read) : read();
}

const count: CheckRunner<CountCheckSpec> = async (check, context) => {
  if (!check.table) return { passed: false, expected: '', actual: null, message: 'a postgres count check needs table' };
  let table: string;
  try {
    table = quoteQualifiedName(check.table);
  } catch (err) {
    return { passed: false, expected: evaluate(check.expect, 0).expected, actual: null, message: `invalid table name: ${(err as Error).message}` };
  }
  const actual = await withDatabase(context, async (client) => {
    if (!check.where) return tableCount(context, client, table);
    return Number((await client.query<{ n: string }>(`select count(*) as n from ${table} where ${check.where}`)).rows[0]?.n);
  });
  const result = evaluate(check.expect, actual);
  return {
    passed: result.passed,
    expected: result.expected,
    actual,
    message: result.passed ? `${check.table} has ${actual} rows` : `${check.table} has ${actual} rows, expected ${result.expected}`,
  };
};

const query: CheckRunner<QueryCheckSpec> = async (check, context) => {
  const { rows, fields } = await withDatabase(context, (client) => client.query(check.sql!));
  const first = rows[0] as Record<string, unknown> | undefined;
  const column = fields[0]?.name;
  const actual = first && column !== undefined ? normalise(first[column]) : null;
  const result = evaluate(check.expect, actual);
  return {
    passed: result.passed,
    expected: result.expected,
    actual,
    message: result.passed ? `query returned ${JSON.stringify(actual)}` : `query returned ${JSON.stringify(actual)}: ${result.reason}`,
  };
};

function normalise(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number(value);
  return value ?? null;
}

interface TableMismatch {
  table: string;
  expected: number;
  actual: number;
}

const baseline: CheckRunner<BaselineCheckSpec> = async (check, context) => {
  const file = await loadBaselineFile(check.baseline, context.drill.dir);
  const expectedDatabase = file.content.databases[context.database];
  const expectedTables = expectedDatabase?.tables;
  if (!expectedDatabase || !expectedTables) {
    return {
      passed: false,
      expected: `baseline of database ${context.database}`,
      actual: null,
      message: `${check.baseline} holds no database "${context.database}" (it has: ${Object.keys(file.content.databases).join(', ') || 'none'}); set database on the check`,
    };
  }
  return withDatabase(context, async (client) => {
    const present = await listTables(client);
    const wanted = present.filter((t) => t in expectedTables);
    const restored: Record<string, number> = {};
    for (const key of wanted) restored[key] = await tableCount(context, client, key);
    const counts = compareBaselineCounts(check, file, expectedTables, restored, present);
    return compareContent(counts, expectedDatabase, restored, { wanted: check.content, file: check.baseline, unit: 'tables', digest: (table) => contentDigest(client, table), damaged: context.damaged, database: context.database });
  });
};

function compareBaselineCounts(check: BaselineCheckSpec, file: LoadedBaseline, expectedTables: Record<string, number>, restored: Record<string, number>, present: string[]): CheckOutcome {
  const absolute = check.tolerance?.absolute ?? 0;
  const percent = check.tolerance?.percent ?? 0;
  const mismatched: TableMismatch[] = [];
  const missing = Object.keys(expectedTables).filter((t) => !(t in restored));
  for (const [table, want] of Object.entries(expectedTables)) {
    const got = restored[table];
    if (got === undefined) continue;
    const allowed = Math.max(absolute, Math.floor((want * percent) / 100));
    if (Math.abs(got - want) > allowed) mismatched.push({ table, expected: want, actual: got });
  }
  const extra = present.filter((t) => !(t in expectedTables));
  const extraCounts = check.extraTables === 'fail';
  const passed = mismatched.length === 0 && missing.length === 0 && !(extraCounts && extra.length > 0);
  const tolerance = absolute || percent ? ` (tolerance ${[absolute ? `±${absolute}` : '', percent ? `±${percent}%` : ''].filter(Boolean).join(' or ')})` : '';
  const problems = [
    ...mismatched.map((m) => `${m.table}: ${m.actual} rows, baseline ${m.expected}`),
    ...missing.map((t) => `${t}: missing`),
    ...(check.extraTables === 'ignore' ? [] : extra.map((t) => `${t}: not in baseline`)),
  ];
  return {
    passed,
    expected: `${Object.keys(expectedTables).length} tables equal the baseline captured ${file.content.capturedAt}${tolerance}`,
    actual: { tablesCompared: Object.keys(restored).length, mismatched, missing, extra: check.extraTables === 'ignore' ? [] : extra },
    message: problems.length ? problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; … ${problems.length - 10} more` : '') : `${Object.keys(restored).length} tables match the baseline`,
    details: { baseline: { path: file.path, sha256: file.sha256, capturedAt: file.content.capturedAt, source: file.content.source } },
  };
}

const schema: CheckRunner<SchemaCheckSpec> = async (check, context) => {
  const file = await loadBaselineFile(check.baseline, context.drill.dir);
  const expected = file.content.databases[context.database]?.schema;
  if (!expected) {
    return { passed: false, expected: `schema of database ${context.database}`, actual: null, message: `${check.baseline} holds no schema for database "${context.database}"` };
  }
  const actual = await withDatabase(context, (client) => schemaFingerprint(client));
  return { ...compareSchema(expected, actual), details: { baseline: { path: file.path, sha256: file.sha256 } } };
};

export const postgresChecks = { count, query, baseline, schema } satisfies Record<string, CheckRunner<never>>;
export type { CheckOutcome };
