import { RestoreproofError } from '../errors.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { FreshnessCheckSpec } from '../drill/types.ts';
import { isoFromText } from './audit-chain-verify.ts';
import { rowTarget, type RowSource } from '../engines/rows.ts';
import type { CheckOutcome } from './types.ts';

export interface FreshnessContext {
  store: StartedStore;
  /** The store's engine's row streaming. */
  rows: RowSource;
  database: string;
  /** The backup's point in time: the newest pointInTime among this store's artefacts. */
  pointInTime?: { at: string; source: string };
  /** spec.objectives.rpo */
  rpo?: string;
  /** When the run started: the data age against the RPO is measured from here. */
  runStartedAt: string;
  signal: AbortSignal;
}

/**
 * The newest timestamp in the table must be within maxAge (default: the RPO) of the backup's point
 * in time: the backup holds data up to when it claims. Records the data age at the backup's point in
 * time and at run start, the latter against spec.objectives.rpo.
 */
export async function runFreshness(check: FreshnessCheckSpec, context: FreshnessContext): Promise<CheckOutcome> {
  const maxAge = check.maxAge ?? context.rpo;
  if (!maxAge) throw new RestoreproofError('E_CHECK', 'freshness needs maxAge or spec.objectives.rpo');
  const target = rowTarget(check, context.rows, context.database);
  const where = `${target.where}.${check.column}`;
  const expected = `newest ${where} within ${maxAge} of the backup's point in time`;
  if (!context.pointInTime) return { passed: false, expected, actual: null, message: 'no artefact of this store states a point in time' };
  const source = await context.rows.stream(context.store, { database: context.database, relation: target.relation, columns: [check.column], orderBy: check.column, descending: true, limit: 1, signal: context.signal });
  let newestText: string | undefined;
  let kind: string | undefined;
  try {
    for await (const [cell] of source.rows) {
      if (cell!.kind !== 'null') [newestText, kind] = [cell!.text, cell!.kind];
    }
  } finally {
    await source.close();
  }
  if (newestText === undefined) return { passed: false, expected, actual: null, message: `${where} has no non-null value` };
  if (kind !== 'timestamp') throw new RestoreproofError('E_CHECK', `${where} is not a timestamp (${kind}); freshness needs a timestamp column`);
  const newest = isoFromText(newestText);
  const newestMs = Date.parse(newest);
  const pitMs = Date.parse(context.pointInTime.at);
  const dataAgeMs = pitMs - newestMs;
  const maxMs = parseDuration(maxAge);
  const passed = dataAgeMs <= maxMs;
  const rpo = context.rpo
    ? (() => {
        const ageAtRun = Date.parse(context.runStartedAt) - newestMs;
        const targetMs = parseDuration(context.rpo);
        return { target: context.rpo, targetMs, dataAgeAtRunStartMs: ageAtRun, status: ageAtRun <= targetMs ? 'passed' : 'failed' };
      })()
    : undefined;
  const actual = { newest, pointInTime: context.pointInTime.at, pointInTimeSource: context.pointInTime.source, dataAgeMs, ...(rpo ? { rpo } : {}) };
  const age = dataAgeMs < 0 ? `${formatDuration(-dataAgeMs)} after` : `${formatDuration(dataAgeMs)} before`;
  return {
    passed,
    expected,
    actual,
    message: `newest ${where} is ${newest}, ${age} the backup's point in time ${context.pointInTime.at}${passed ? '' : ` (more than ${maxAge})`}${rpo ? `; data age at run start ${formatDuration(rpo.dataAgeAtRunStartMs)} against RPO ${rpo.target}: ${rpo.status}` : ''}`,
  };
}
