import { DrillConfigError, ExitCode, RestoreproofError, isCouldNotRun, specPath } from '../../errors.ts';
import { appRuntimeIssues } from '../../drill/validate-app.ts';
import type { DrillDocument, RuntimeChoice, RuntimeName } from '../../drill/types.ts';
import { runtimes } from '../../runtimes/index.ts';
import { guardRun } from '../../runtimes/reaper/index.ts';
import { defaultRuntime, selectRuntime, type RuntimeSelection } from '../../runtimes/select.ts';
import type { Runtime } from '../../runtimes/types.ts';
import { fetchJobsOf } from '../../sources/fetch.ts';
import { drillOf, type RunContext } from '../context.ts';

export interface RuntimeChosen {
  requested: RuntimeChoice;
  /** Present for `auto` and `containers`: what the Docker engine said. */
  selection?: RuntimeSelection;
  runtime: Runtime;
}

/**
 * The runtime a drill runs on: the option, else the drill's spec.runtime, else the default. `auto`
 * asks the Docker engine (starting nothing); so does `containers` when the caller is about to use
 * it (a run, not a plan). Throws E_RUNTIME (exit 2) for a name no runtime has.
 */
export async function chooseRuntime(requested: RuntimeChoice | undefined, doc: DrillDocument, options: { confirmContainers: boolean }): Promise<RuntimeChosen> {
  const choice = requested ?? doc.spec.runtime ?? defaultRuntime();
  const asks = choice === 'auto' || (choice === 'containers' && options.confirmContainers);
  const selection = asks ? await selectRuntime(choice) : undefined;
  const name = selection?.chosen ?? choice;
  const runtime = runtimes[name as RuntimeName];
  if (!runtime) throw new RestoreproofError('E_RUNTIME', `unknown runtime "${name}"; available: ${Object.keys(runtimes).join(', ')}`, { exitCode: ExitCode.usage });
  return { requested: choice, ...(selection ? { selection } : {}), runtime };
}

/**
 * Chooses the runtime, takes the run's guard, and checks that the runtime can host every store,
 * the app and every fetch: what it cannot is a config error (exit 2), raised before the preflight.
 */
export async function runtimeStep(ctx: RunContext): Promise<void> {
  const drill = drillOf(ctx);
  const doc = drill.document;
  let chosen: RuntimeChosen;
  try {
    chosen = await chooseRuntime(ctx.options.runtime, doc, { confirmContainers: true });
  } catch (err) {
    ctx.configError = !isCouldNotRun(err); // no Docker engine for `containers`: could not run, not a config error
    throw err;
  }
  const { runtime, selection, requested } = chosen;
  ctx.report.runtime(runtime.name, requested === 'auto' ? selection : undefined);
  if (requested === 'auto' && selection) ctx.emit('onRuntimeSelected', selection);
  ctx.runtime = runtime;
  ctx.guard = await guardRun({ runId: ctx.runId, runtime: runtime.name, keep: Boolean(ctx.options.keep) });
  for (const [name, store] of Object.entries(doc.spec.stores)) {
    if (!runtime.engines.includes(store.engine)) {
      ctx.configError = true;
      throw new RestoreproofError('E_RUNTIME', `runtime ${runtime.name} cannot host engine ${store.engine} (store ${name})`, { exitCode: ExitCode.usage });
    }
    const requestedEngine = drill.requestedEngines?.[name];
    ctx.report.store({ name, engine: store.engine, ...(requestedEngine ? { requestedEngine } : {}), runtime: runtime.name, version: '', status: 'skipped', restoreDurationMs: 0, steps: [], kept: false });
  }
  const appProblems = doc.spec.app ? appRuntimeIssues(runtime.name, doc.spec.app) : [];
  if (appProblems.length) {
    ctx.configError = true;
    throw new DrillConfigError(appProblems.map(([path, message]) => ({ file: drill.file, path: specPath(['spec', 'app', ...path]), ...drill.locate(['spec', 'app', ...path]), message: `${message} (runtime ${runtime.name})` })));
  }
  const podFetches = fetchJobsOf(doc.spec.stores).filter((j) => j.spec.fetch === 'pod');
  if (podFetches.length && !runtime.fetchesInPod) {
    ctx.configError = true;
    throw new DrillConfigError(podFetches.map((j) => {
      const path = ['spec', 'stores', j.store, 'restore', j.step, 'artefact', 'fetch'];
      return { file: drill.file, path: specPath(path), ...drill.locate(path), message: `fetch: pod needs a runtime whose store pods download artefacts themselves (kubernetes); runtime ${runtime.name} cannot: use fetch: harness or --runtime kubernetes` };
    }));
  }
}
