import type { CheckSpec, Drill } from '../drill/types.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { VerifiedArtefact } from '../engines/artefact.ts';

export type CheckStatus = 'passed' | 'failed' | 'warned' | 'skipped';

export interface CheckResult {
  id: string;
  name: string;
  type: CheckSpec['type'] | 'completeness' | 'consistency' | 'migrate';
  /** Store name, or several joined by commas for cross-store checks. */
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
  /** Passed, but with something a person should look at (e.g. orphan objects). */
  warn?: boolean;
  expected: string;
  actual: unknown;
  message: string;
  details?: unknown;
}

export interface CheckContext {
  drill: Drill;
  /** The run's id: what a check starts (a process, a temp dir) is named after it, so gc and the reaper find it. */
  runId: string;
  store: StartedStore;
  /** Every started store by name, for checks that read more than one. */
  stores: ReadonlyMap<string, StartedStore>;
  /** Database the check runs against (defaulted by the engine). */
  database: string;
  /** The store's verified artefacts, for checks that read the backup itself (an integrity check of an RDB). */
  artefacts: readonly VerifiedArtefact[];
  signal: AbortSignal;
  /**
   * `restoreproof mutate`: what a state mutant damaged (its target, `<database>/<table>…`), when the
   * check re-runs to see whether it notices. A check that compares many things may look there first
   * and stop at its first mismatch; it still passes only once it has compared everything.
   */
  damaged?: string;
}

export type CheckRunner<C extends CheckSpec = CheckSpec> = (check: C, context: CheckContext) => Promise<CheckOutcome>;

/** What a check that reads only the backup gets: no store, which may never have started. */
export type ArtefactCheckContext = Pick<CheckContext, 'drill' | 'runId' | 'artefacts' | 'signal'>;
export type ArtefactCheckRunner<C extends CheckSpec = CheckSpec> = (check: C, context: ArtefactCheckContext) => Promise<CheckOutcome>;

export function checkId(check: CheckSpec, index: number): string {
  return check.id ?? `${check.type}-${index + 1}`;
}

export function checkTitle(check: CheckSpec): string {
  if (check.name) return check.name;
  switch (check.type) {
    case 'count':
      return check.collection
        ? `${check.store}: count ${check.collection}${check.filter ? ` ${JSON.stringify(check.filter)}` : ''}`
        : `${check.store}: count ${check.table}${check.where ? ` where ${check.where}` : ''}`;
    case 'query':
      return check.sql
        ? `${check.store}: ${check.sql.replace(/\s+/g, ' ').slice(0, 60)}`
        : `${check.store}: ${check.aggregate ? 'aggregate' : 'find'} ${check.collection}${check.field ? ` → ${check.field}` : ''}`;
    case 'baseline':
      return `${check.store}: counts equal baseline ${check.baseline}`;
    case 'schema':
      return `${check.store}: schema equals baseline ${check.baseline}`;
    case 'objects':
      return `${check.store}: objects under ${check.bucket ?? ''}/${check.prefix ?? ''}`;
    case 'object':
      return `${check.store}: object ${check.bucket ?? ''}/${check.key}`;
    case 'keys':
      return `${check.store}: keys ${check.pattern ?? '(dbsize)'} in db ${check.db ?? 0}`;
    case 'key':
      return `${check.store}: key ${check.key}`;
    case 'info':
      return `${check.store}: INFO ${check.section ?? 'keyspace'} ${check.field}`;
    case 'reachability':
      return `every object ${check.references.store} references is in ${check.objects.store}`;
    case 'http':
      return `${check.method ?? 'GET'} ${check.url ?? check.path}${check.retry ? ` (until ${check.retry.until})` : ''}`;
    case 'auditChain':
      return `${check.store}: ${check.algorithm} chain over ${check.table ?? check.collection} by ${check.orderBy}`;
    case 'decrypt':
      return `${check.store}: ${check.cipher} decrypts ${check.sample ?? 20} sampled ${check.table ?? check.collection}.${check.column}`;
    case 'points':
      return `${check.store}: ${check.count ?? 'points'} of ${check.database}.${check.measurement}`;
    case 'integrity':
      return `${check.store}: the engine's own integrity check`;
    case 'freshness':
      return `${check.store}: newest ${check.table ?? check.collection}.${check.column} within ${check.maxAge ?? 'the RPO'} of the backup`;
    default: {
      // A check type an engine folder adds (never here while every type has a case above): its store and type.
      const added = check as { store: string; type: string };
      return `${added.store}: ${added.type}`;
    }
  }
}
