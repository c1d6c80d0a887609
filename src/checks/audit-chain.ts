import { createSecretKey, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { RestoreproofError } from '../errors.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { AuditChainCheckSpec } from '../drill/types.ts';
import { rowTarget } from '../engines/rows.ts';
import type { CheckOutcome } from './types.ts';
import { keyRanges, verifyRanges } from './audit-chain-ranges.ts';
import { macFunction, parseMacTemplate, RangeVerifier, verifyChain, type ChainResult } from './audit-chain-verify.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { RowSource } from '../engines/rows.ts';

/** Semantic problems with an auditChain check, found before any restore: [path below the check, message]. */
export function auditChainIssues(check: AuditChainCheckSpec): [string[], string][] {
  const issues: [string[], string][] = [];
  if ('template' in check.input) {
    try {
      const names = parseMacTemplate(check.input.template).filter((p): p is { name: string } => typeof p !== 'string').map((p) => p.name);
      if (!names.includes('prev') && !check.linkColumn) issues.push([['input', 'template'], 'the template never uses {prev}, so nothing chains the rows; add {prev}']);
      const defined = check.input.fields ? new Set(['prev', ...check.input.fields]) : undefined;
      for (const name of names) {
        if (defined && !defined.has(name)) issues.push([['input', 'template'], `placeholder {${name}} is not defined; defined: ${[...defined].map((n) => `{${n}}`).join(', ')}`]);
      }
      if (names.length === 0) issues.push([['input', 'template'], 'the template has no placeholders']);
    } catch (err) {
      issues.push([['input', 'template'], `template syntax error: ${(err as Error).message}`]);
    }
  } else if (check.input.canonicalJson.includes('prev')) {
    issues.push([['input', 'canonicalJson'], '"prev" is prepended to the canonical JSON, not a field of it']);
  }
  return issues;
}


export interface AuditChainContext {
  store: StartedStore;
  /** The store's engine's row streaming. */
  rows: RowSource;
  database: string;
  drillDir: string;
  signal: AbortSignal;
  /** Ranges verified in parallel, at most (default: the cores). */
  parallelism?: number;
  /** A table is cut only into ranges of at least this many rows (default 50,000). */
  minRowsPerRange?: number;
}

export async function loadMacKey(check: Pick<AuditChainCheckSpec, 'key' | 'keyEncoding'>, drillDir: string, what: string): Promise<Buffer> {
  const text = await resolveSecret(check.key, drillDir, what);
  const encoding = check.keyEncoding ?? 'utf8';
  const key = Buffer.from(text, encoding);
  if (key.length === 0) throw new RestoreproofError('E_SECRET', `${what}: the key is empty (as ${encoding})`);
  return key;
}

async function verifyInOnePass(check: AuditChainCheckSpec, context: AuditChainContext, relation: string, columns: string[], key: KeyObject): Promise<ChainResult> {
  const source = await context.rows.stream(context.store, { database: context.database, relation, columns, orderBy: check.orderBy, signal: context.signal });
  try {
    return await verifyChain(source, check, macFunction(check, key, source.columns), context.signal);
  } finally {
    await source.close();
  }
}

const rangesPerVerifier = 8;

/**
 * The chain verified in key ranges on every core, when the engine can cut the table and it is large;
 * undefined otherwise, or when a range breaks (then the one pass reports the break exactly). Excluded
 * rows stay in one pass: a range's first row must be the chain's row before it.
 */
async function verifyInRanges(check: AuditChainCheckSpec, context: AuditChainContext, relation: string, columns: string[], key: KeyObject): Promise<ChainResult | undefined> {
  const { rows, store, database, signal } = context;
  const parallelism = context.parallelism ?? availableParallelism();
  if (!rows.splitKeys || !rows.module || check.exclude || parallelism < 2) return undefined;
  // Several ranges a verifier, so the verifiers (this thread at once, workers once started) end together.
  const cuts = await rows.splitKeys(store, { database, relation, orderBy: check.orderBy, parts: parallelism * rangesPerVerifier, minRowsPerRange: context.minRowsPerRange ?? 50_000, signal });
  if (cuts.length === 0) return undefined;
  const job = { module: rows.module, store: { name: store.name, engine: store.engine, endpoint: store.endpoint }, database, relation, columns, check, key };
  const outcomes = await verifyRanges(keyRanges(cuts).map((range) => ({ ...job, range })), parallelism, new RangeVerifier(), signal);
  if (!outcomes) return undefined;
  const sum = (field: 'rowsRead' | 'rowsVerified' | 'rowsExcluded') => outcomes.reduce((n, o) => n + o[field], 0);
  return { rowsRead: sum('rowsRead'), rowsVerified: sum('rowsVerified'), rowsExcluded: sum('rowsExcluded'), breaks: 0, moreBreaks: [] };
}

export async function runAuditChain(check: AuditChainCheckSpec, context: AuditChainContext): Promise<CheckOutcome> {
  const key = createSecretKey(await loadMacKey(check, context.drillDir, 'auditChain key'));
  const fields = 'template' in check.input
    ? parseMacTemplate(check.input.template).flatMap((p) => (typeof p === 'string' || p.name === 'prev' ? [] : [p.name]))
    : check.input.canonicalJson;
  const columns = [...new Set([check.orderBy, check.macColumn, ...(check.linkColumn ? [check.linkColumn] : []), ...(check.exclude ? [check.exclude.column] : []), ...fields])];
  const { relation, where } = rowTarget(check, context.rows, context.database);
  const expected = `every row of ${where} verifies (${check.algorithm}, ordered by ${check.orderBy})`;
  const t0 = performance.now();
  const result = (await verifyInRanges(check, context, relation, columns, key)) ?? (await verifyInOnePass(check, context, relation, columns, key));
  const seconds = (performance.now() - t0) / 1000;
  const rowsPerSecond = Math.round(result.rowsRead / Math.max(seconds, 1e-6));
  const actual = {
    rowsRead: result.rowsRead,
    rowsVerified: result.rowsVerified,
    rowsExcluded: result.rowsExcluded,
    breaks: result.breaks,
    firstBreak: result.firstBreak ?? null,
    ...(result.moreBreaks.length ? { moreBreaks: result.moreBreaks } : {}),
    rowsPerSecond,
  };
  if (result.rowsRead === 0) return { passed: false, expected, actual, message: `${where} has no rows to verify` };
  const first = result.firstBreak;
  if (!first) return { passed: true, expected, actual, message: `${result.rowsVerified} rows verify (${rowsPerSecond} rows/s)${result.rowsExcluded ? `; ${result.rowsExcluded} retired rows excluded` : ''}` };
  const firstRow = result.rowsVerified === 0 && result.breaks === result.rowsRead;
  const message = firstRow
    ? `first row does not verify (${check.orderBy} = ${first.key}), nor does any other: wrong key, algorithm, encoding or input format`
    : `chain breaks at ${check.orderBy} = ${first.key}: ${first.kind} row (${first.reason}); ${result.rowsVerified} of ${result.rowsRead} rows verify, ${result.breaks} break(s)`;
  return { passed: false, expected, actual, message };
}
