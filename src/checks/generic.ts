import { aStoreOf, enginesWith } from '../engines/capabilities.ts';
import { engineFor } from '../engines/index.ts';
import { RestoreproofError } from '../errors.ts';
import type { StartedApp, StartedStore } from '../runtimes/types.ts';
import type { AuditChainCheckSpec, CheckSpec, DecryptCheckSpec, Drill, FreshnessCheckSpec, HttpCheckSpec } from '../drill/types.ts';
import { runAuditChain } from './audit-chain.ts';
import { runDecrypt } from './decrypt.ts';
import { runFreshness } from './freshness.ts';
import { runHttpCheck } from './http.ts';
import type { CheckOutcome } from './types.ts';

/** Checks implemented once for every engine that can answer them, rather than per engine. */
export type GenericCheckSpec = HttpCheckSpec | AuditChainCheckSpec | DecryptCheckSpec | FreshnessCheckSpec;

export function isGenericCheck(check: CheckSpec): check is GenericCheckSpec {
  return check.type === 'http' || check.type === 'auditChain' || check.type === 'decrypt' || check.type === 'freshness';
}

export interface GenericCheckContext {
  drill: Drill;
  stores: ReadonlyMap<string, StartedStore>;
  /** The check's database (defaulted by the engine); undefined for http. */
  database?: string;
  app?: StartedApp;
  appProblem?: string;
  /** The run's artefacts, for the backup's point in time. */
  artefacts: readonly { store: string; pointInTime?: { at: string; source: string } }[];
  runStartedAt: string;
  signal: AbortSignal;
}

export async function runGenericCheck(check: GenericCheckSpec, context: GenericCheckContext): Promise<CheckOutcome> {
  const { drill, signal } = context;
  if (check.type === 'http') return runHttpCheck(check, { drillDir: drill.dir, signal, ...(context.app ? { app: context.app } : {}), ...(context.appProblem ? { appProblem: context.appProblem } : {}) });
  const store = context.stores.get(check.store)!;
  const { rows, name } = engineFor(drill.document.spec.stores[check.store]!);
  if (!rows) throw new RestoreproofError('E_CHECK', `a ${check.type} check needs ${aStoreOf(enginesWith('rows'))}; ${check.store} is ${name}`);
  const base = { store, rows, database: context.database!, signal } as const;
  switch (check.type) {
    case 'auditChain':
      return runAuditChain(check, { ...base, drillDir: drill.dir });
    case 'decrypt':
      return runDecrypt(check, { ...base, drillDir: drill.dir });
    case 'freshness': {
      const points = context.artefacts.filter((a) => a.store === check.store && a.pointInTime).map((a) => a.pointInTime!);
      const newest = points.sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
      const rpo = drill.document.spec.objectives?.rpo;
      return runFreshness(check, { ...base, ...(newest ? { pointInTime: newest } : {}), ...(rpo ? { rpo } : {}), runStartedAt: context.runStartedAt });
    }
  }
}
