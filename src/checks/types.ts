import type { CheckSpec, Drill } from '../spec/types.ts';
import type { StartedStore } from '../runtimes/types.ts';

export type CheckStatus = 'passed' | 'failed' | 'warned' | 'skipped';

export interface CheckResult {
  id: string;
  name: string;
  type: CheckSpec['type'];
  store: string;
  database?: string;
  severity: 'fail' | 'warn';
  status: CheckStatus;
  /** What had to hold, in words (e.g. ">= 1", "all 4 tables equal the baseline"). */
  expected: string;
  actual: unknown;
  message: string;
  startedAt: string;
  durationMs: number;
  details?: unknown;
}

/** What a check implementation returns; the runner adds identity, timing and severity. */
export interface CheckOutcome {
  passed: boolean;
  expected: string;
  actual: unknown;
  message: string;
  details?: unknown;
}

export interface CheckContext {
  drill: Drill;
  store: StartedStore;
  /** Database the check runs against (defaulted by the engine). */
  database: string;
  signal: AbortSignal;
}

export type CheckRunner<C extends CheckSpec = CheckSpec> = (check: C, context: CheckContext) => Promise<CheckOutcome>;

export function checkId(check: CheckSpec, index: number): string {
  return check.id ?? `${check.type}-${index + 1}`;
}

export function checkTitle(check: CheckSpec): string {
  if (check.name) return check.name;
  switch (check.type) {
    case 'count':
      return `${check.store}: count ${check.table}${check.where ? ` where ${check.where}` : ''}`;
    case 'query':
      return `${check.store}: ${check.sql.replace(/\s+/g, ' ').slice(0, 60)}`;
    case 'baseline':
      return `${check.store}: row counts equal baseline ${check.baseline}`;
    case 'schema':
      return `${check.store}: schema equals baseline ${check.baseline}`;
  }
}
