import type { CheckResult } from '../checks/types.ts';
import { RestoreproofError, errorMessage } from '../errors.ts';
import type { Runtime, StartedApp, StartedStore } from '../runtimes/types.ts';
import type { Drill } from '../drill/types.ts';
import { resolveAppEnv } from './env.ts';

export interface AppPhaseRequest {
  runtime: Runtime;
  drill: Drill;
  runId: string;
  stores: readonly StartedStore[];
  signal: AbortSignal;
  /** The migration's outcome, recorded as a check. */
  onCheck(result: CheckResult): void;
  onCheckStart?(id: string, name: string): void;
}

export const migrateCheckId = 'app-migrate';

/**
 * The app phase: the migration (if any) against the restored stores, then the app, through the
 * runtime's `runAppTask` / `startApp`. Throws (failing the phase and the drill) when the migration
 * fails or the app does not start, with the last log lines. Resolves to the started app.
 */
export async function runAppPhase(request: AppPhaseRequest): Promise<StartedApp> {
  const { runtime, drill, runId, signal } = request;
  const spec = drill.document.spec.app!;
  const stores = new Map(request.stores.map((s) => [s.name, s] as const));
  if (!runtime.startApp) throw new RestoreproofError('E_RUNTIME', `runtime ${runtime.name} cannot start spec.app`, { exitCode: 2 });
  const base = { runId, drillName: drill.document.metadata.name, drillDir: drill.dir, signal, egress: drill.document.spec.network?.egress === true };
  if (spec.migrate) {
    // On containers the migration runs in the app's image unless it names its own.
    const image = spec.migrate.image ?? spec.image;
    const migrate = { ...spec.migrate, ...(image ? { image } : {}) };
    const name = `app migration: ${migrate.command.join(' ')}`;
    request.onCheckStart?.(migrateCheckId, name);
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    const record = (status: 'passed' | 'failed', actual: unknown, message: string) =>
      request.onCheck({ id: migrateCheckId, name, type: 'migrate', store: [...stores.keys()].join(','), severity: 'fail', status, expected: 'exit code 0', actual, message, startedAt, durationMs: performance.now() - t0 });
    if (!runtime.runAppTask) {
      record('failed', null, `runtime ${runtime.name} cannot run spec.app.migrate`);
      throw new RestoreproofError('E_APP_MIGRATE', `runtime ${runtime.name} cannot run spec.app.migrate`);
    }
    let result;
    try {
      result = await runtime.runAppTask({ ...base, spec: migrate, env: (address, appPort) => resolveAppEnv(migrate.env, { stores, drillDir: drill.dir, appPort: appPort ?? 0, ...(address ? { address } : {}) }) });
    } catch (err) {
      record('failed', null, `the migration did not start: ${errorMessage(err)}`);
      throw new RestoreproofError('E_APP_MIGRATE', `app migration (${migrate.command.join(' ')}) did not start: ${errorMessage(err)}`);
    }
    const ok = result.exitCode === 0;
    const how = result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    record(ok ? 'passed' : 'failed', { exitCode: result.exitCode, durationMs: Math.round(result.durationMs) }, ok ? `migration ${how}` : `migration ${how}; last log lines:\n${result.log || '(no output)'}`);
    if (!ok) throw new RestoreproofError('E_APP_MIGRATE', `app migration (${migrate.command.join(' ')}) ${how}; last log lines:\n${result.log || '(no output)'}`);
  }
  signal.throwIfAborted();
  return runtime.startApp({ ...base, spec, env: (address, appPort) => resolveAppEnv(spec.env, { stores, drillDir: drill.dir, appPort: appPort ?? spec.port ?? 0, ...(address ? { address } : {}) }) });
}
