import { relative, resolve, sep } from 'node:path';
import type { CheckOutcome, CheckResult, CheckRunner } from '../checks/types.ts';
import { checkId, checkTitle } from '../checks/types.ts';
import { consistencyOutcome } from '../checks/consistency.ts';
import { runReachability } from '../checks/reachability.ts';
import { isGenericCheck, runGenericCheck } from '../checks/generic.ts';
import { runAppPhase } from '../app/index.ts';
import { appRuntimeIssues } from '../drill/validate-app.ts';
import { engineFor } from '../engines/index.ts';
import type { RestoreStepResult, VerifiedArtefact } from '../engines/types.ts';
import { DrillConfigError, ExitCode, InterruptedError, RestoreproofError, StepConfigError, errorMessage, isCouldNotRun, specPath, type SpecIssue } from '../errors.ts';
import { prepareEvidence } from '../evidence/index.ts';
import { defaultFormats, reportFiles, selectedReporters, writeReports, type ReportFormat } from '../report/index.ts';
import { reportSchemaVersion, type PhaseName, type PhaseRecord, type Reporter, type ReportError, type RunReport, type StoreRecord } from '../report/types.ts';
import { runtimes } from '../runtimes/index.ts';
import { guardRun, type RunGuard } from '../runtimes/reaper/index.ts';
import { defaultRuntime, selectRuntime, type RuntimeSelection } from '../runtimes/select.ts';
import type { StartedApp, StartedStore } from '../runtimes/types.ts';
import { loadBaselineFile } from '../drill/baseline.ts';
import { loadDrill, drillDisplayName } from '../drill/load.ts';
import { storesOf, type Drill, type RuntimeChoice, type RuntimeName } from '../drill/types.ts';
import { redactDeep } from '../util/redact.ts';
import { toolVersion } from '../version.ts';
import { fetchArtefacts, fetchJobsOf, storesWithStaged } from '../sources/fetch.ts';
import { podFetchedSource, stagedFields } from '../sources/record.ts';
import { Staging, type StagedArtefact } from '../sources/staging.ts';
import { detectTrigger, hostInfo, newRunId } from './identity.ts';
import { parseDuration } from '../util/duration.ts';
import { preflight } from './preflight.ts';

export interface RunOptions {
  /** Default: the drill's spec.runtime, else `auto`. */
  runtime?: RuntimeChoice;
  /** Where reports go; defaults to the drill's spec.report.dir, then ./reports. */
  reportDir?: string;
  formats?: ReportFormat[];
  /** Incident mode: leave every store running and print how to reach it. */
  keep?: boolean;
  reporters?: Reporter[];
  /** Aborting it (SIGINT, SIGTERM) stops the run; teardown and reports still happen. */
  signal?: AbortSignal;
  runId?: string;
  env?: Record<string, string | undefined>;
}

/** Runs a drill end to end and returns the evidence document. Never throws for drill or config failures. */
export async function runDrill(file: string, options: RunOptions = {}): Promise<RunReport> {
  const runId = options.runId ?? newRunId();
  const signal = options.signal ?? new AbortController().signal;
  const reporters = options.reporters ?? [];
  const emit = <K extends keyof Reporter>(hook: K, ...args: Parameters<NonNullable<Reporter[K]>>) => {
    for (const r of reporters) (r[hook] as ((...a: unknown[]) => void) | undefined)?.apply(r, args);
  };
  const startedAt = new Date();
  const report: RunReport = {
    schemaVersion: reportSchemaVersion,
    runId,
    tool: { name: 'restoreproof', version: toolVersion, node: process.version },
    drill: { name: drillDisplayName(file), file, sha256: null, controls: [], includes: [] },
    trigger: detectTrigger(),
    host: hostInfo(),
    runtime: options.runtime ?? 'auto',
    status: 'failed',
    exitCode: ExitCode.failed,
    startedAt: startedAt.toISOString(),
    endedAt: '',
    durationMs: 0,
    phases: [],
    artefacts: [],
    stores: [],
    checks: [],
    summary: { checks: { total: 0, passed: 0, failed: 0, warned: 0, skipped: 0 } },
    objectives: {},
    teardown: { status: 'nothing-to-do', completedAt: '', resources: [] },
    errors: [],
    reports: {},
  };
  const fail = (err: unknown, extra: Partial<ReportError> = {}) => report.errors.push(toReportError(err, extra));
  // What an abort stopped is recorded as the interruption, not as the failure it caused (a killed
  // initdb, a closed exec stream, the abort reason thrown as is). Teardown failures stay what they are.
  let current: PhaseName | undefined;
  let interruptedDuring: string | undefined;
  const onAbort = () => (interruptedDuring = current ?? 'start-up');
  signal.addEventListener('abort', onAbort, { once: true });
  const interrupted = (err: unknown) => (signal.aborted && current !== 'teardown' ? new InterruptedError(signal, `during ${current ?? 'start-up'}`) : err);
  const phase = async <T>(name: PhaseName, fn: () => Promise<T>): Promise<T | undefined> => {
    const t0 = new Date();
    current = name;
    emit('onPhaseStart', name);
    let status: PhaseRecord['status'] = 'passed';
    try {
      const value = await fn();
      if (value === false) status = 'failed';
      return value;
    } catch (err) {
      status = 'failed';
      fail(interrupted(err));
      return undefined;
    } finally {
      const record: PhaseRecord = { name, status, startedAt: t0.toISOString(), endedAt: new Date().toISOString(), durationMs: Date.now() - t0.getTime() };
      report.phases.push(record);
      emit('onPhaseEnd', record);
    }
  };
  const skipPhase = (name: PhaseName) => {
    const now = new Date().toISOString();
    report.phases.push({ name, status: 'skipped', startedAt: now, endedAt: now, durationMs: 0 });
  };

  let drill: Drill | undefined;
  let configError = false;
  const started: StartedStore[] = [];
  let startedApp: StartedApp | undefined;
  const storeRecords = new Map<string, StoreRecord>();
  const staging = new Staging(runId);
  let guard: RunGuard | undefined;

  emit('onRunStart', { runId, drill: file, runtime: report.runtime });
  try {
    // load: a config error stops here with exit 2, before anything is touched.
    drill = await phase('load', async () => {
      try {
        return await loadDrill(file, { ...(options.env ? { env: options.env } : {}), signal });
      } catch (err) {
        if (signal.aborted) return undefined;
        configError = true;
        if (err instanceof DrillConfigError) {
          for (const issue of err.issues) report.errors.push(issueToError(issue));
          return undefined;
        }
        throw err;
      }
    });
    if (!drill) throw new Stop();
    const doc = drill.document;
    report.drill = {
      name: doc.metadata.name,
      file: drill.file,
      sha256: drill.sha256,
      ...(doc.metadata.owner ? { owner: doc.metadata.owner } : {}),
      ...(doc.metadata.description ? { description: doc.metadata.description } : {}),
      controls: doc.metadata.controls ?? [],
      includes: [],
    };
    let requested: RuntimeChoice;
    let selection: RuntimeSelection | undefined;
    try {
      requested = options.runtime ?? doc.spec.runtime ?? defaultRuntime();
      if (requested === 'auto' || requested === 'containers') selection = await selectRuntime(requested);
    } catch (err) {
      configError = !isCouldNotRun(err); // no Docker engine for `containers`: could not run, not a config error
      throw err;
    }
    report.runtime = requested;
    if (selection) {
      report.runtime = selection.chosen;
      if (requested === 'auto') {
        report.runtimeSelection = selection;
        emit('onRuntimeSelected', selection);
      }
    }
    const runtime = runtimes[report.runtime as RuntimeName];
    if (!runtime) {
      configError = true;
      throw new RestoreproofError('E_RUNTIME', `unknown runtime "${report.runtime}"; available: ${Object.keys(runtimes).join(', ')}`, { exitCode: ExitCode.usage });
    }
    guard = await guardRun({ runId, runtime: runtime.name, keep: Boolean(options.keep) });
    for (const [name, store] of Object.entries(doc.spec.stores)) {
      if (!runtime.engines.includes(store.engine)) {
        configError = true;
        throw new RestoreproofError('E_RUNTIME', `runtime ${runtime.name} cannot host engine ${store.engine} (store ${name})`, { exitCode: ExitCode.usage });
      }
      storeRecords.set(name, { name, engine: store.engine, runtime: runtime.name, version: '', status: 'skipped', restoreDurationMs: 0, steps: [], kept: false });
    }
    const appProblems = doc.spec.app ? appRuntimeIssues(runtime.name, doc.spec.app) : [];
    if (appProblems.length) {
      configError = true;
      throw new DrillConfigError(appProblems.map(([path, message]) => ({ file: drill!.file, path: specPath(['spec', 'app', ...path]), ...drill!.locate(['spec', 'app', ...path]), message: `${message} (runtime ${runtime.name})` })));
    }

    const fetchJobs = fetchJobsOf(doc.spec.stores);
    const podFetches = fetchJobs.filter((j) => j.spec.fetch === 'pod');
    if (podFetches.length && !runtime.fetchesInPod) {
      configError = true;
      throw new DrillConfigError(podFetches.map((j) => {
        const path = ['spec', 'stores', j.store, 'restore', j.step, 'artefact', 'fetch'];
        return { file: drill!.file, path: specPath(path), ...drill!.locate(path), message: `fetch: pod needs a runtime whose store pods download artefacts themselves (kubernetes); runtime ${runtime.name} cannot: use fetch: harness or --runtime kubernetes` };
      }));
    }

    // preflight: every tool, image, permission, secret, source and key the run needs, checked
    // before anything is fetched or provisioned; what is missing stops the run here (exit 3).
    const ready = await phase('preflight', async () => {
      const items = await preflight(drill!, { runtime: runtime.name as RuntimeName, runId, signal, ...(options.env ? { env: options.env } : {}) });
      report.preflight = items;
      const blocking = items.filter((i) => i.status === 'missing' && isCouldNotRun(i.code));
      for (const i of blocking) fail(new RestoreproofError(i.code!, `${i.kind} ${i.name}: ${i.detail}`, i.hint ? { hint: i.hint } : {}));
      return blocking.length === 0;
    });
    if (!ready || signal.aborted) throw new Stop();

    // fetch: artefacts named by a source (S3, SFTP, a dated folder, an encrypted archive) are
    // selected, verified, decrypted and unpacked into the run's staging dir; engines get local paths.
    let staged: StagedArtefact[] = [];
    if (fetchJobs.length) {
      const fetched = await phase('fetch', () => fetchArtefacts(fetchJobs, { runId, drillDir: drill!.dir, signal, staging }));
      if (!fetched || signal.aborted) throw new Stop();
      staged = fetched;
    }
    const stores = storesWithStaged(doc.spec.stores, staged);

    // verify: every artefact exists and is what the drill says, before any store starts.
    const artefacts = await phase('verify', async () => {
      const found: VerifiedArtefact[] = [];
      const problems: unknown[] = [];
      for (const [name, store] of Object.entries(stores)) {
        const engine = engineFor(store);
        for (const index of store.restore.keys()) {
          try {
            const fetched = staged.find((s) => s.store === name && s.step === index);
            const known = fetched?.info;
            const verified = await engine.inspect(store as never, index, drill!.dir, known ? { known } : {});
            if (!verified) continue;
            verified.store = name;
            verified.pointInTime ??= { at: verified.info.modifiedAt, source: verified.info.kind === 'directory' ? 'newest file modification time' : 'file modification time' };
            found.push(verified);
            const { info } = verified;
            report.artefacts.push({ store: name, step: index, ref: info.ref, path: fetched ? fetched.ref : pathFromDrill(drill!.dir, info.path), host: report.host.hostname, kind: info.kind, size: info.size, sha256: info.sha256, modifiedAt: info.modifiedAt, compression: info.compression, format: verified.format, pointInTime: verified.pointInTime, ...(info.entries !== undefined ? { entries: info.entries } : {}) });
            Object.assign(report.artefacts.at(-1)!, stagedFields(fetched));
          } catch (err) {
            if (!(err instanceof StepConfigError)) problems.push(err);
            else {
              configError = true;
              const path = ['spec', 'stores', name, 'restore', index, err.field];
              problems.push(new DrillConfigError([{ file: drill!.file, path: specPath(path), ...drill!.locate(path), message: err.message }], err.hint));
            }
          }
        }
      }
      for (const check of doc.spec.checks ?? []) {
        if ((check.type === 'baseline' || check.type === 'schema') && !report.drill.includes.some((i) => i.path === resolve(drill!.dir, check.baseline))) {
          try {
            const b = await loadBaselineFile(check.baseline, drill!.dir);
            report.drill.includes.push({ path: b.path, sha256: b.sha256 });
          } catch (err) {
            problems.push(err);
          }
        }
      }
      if (problems.length) {
        problems.slice(1).forEach((p) => fail(p));
        throw problems[0];
      }
      return found;
    });
    if (!artefacts) throw new Stop();
    if (signal.aborted) throw new Stop();

    // provision: independent stores start concurrently.
    const provisioned = await phase('provision', async () => {
      const results = await Promise.allSettled(
        Object.entries(stores).map(async ([storeName, spec]) => {
          const store = await runtime.provision({ runId, drillName: doc.metadata.name, storeName, spec, drillDir: drill!.dir, signal, artefacts: artefacts.filter((a) => a.store === storeName), egress: doc.spec.network?.egress === true });
          started.push(store);
          const record = storeRecords.get(storeName)!;
          record.version = store.version;
          return store;
        }),
      );
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected.length) {
        rejected.slice(1).forEach((r) => fail(r.reason));
        throw rejected[0]!.reason;
      }
      return true;
    });
    // fetch: pod: the digests the store pods computed go into the evidence, passed or not.
    for (const a of artefacts) {
      const record = a.info.fetchedInPod?.actual && report.artefacts.find((r) => r.store === a.store && r.step === a.step);
      if (!record) continue;
      record.sha256 = a.info.fetchedInPod!.actual!.sha256;
      if (record.source) record.source = podFetchedSource(a.info, record.source);
    }
    if (!provisioned || signal.aborted) throw new Stop();

    // restore: stores concurrently, each store's steps in order.
    const restoredAll = await phase('restore', async () => {
      const outcomes = await Promise.all(
        started.map(async (store) => {
          const spec = stores[store.name]!;
          const record = storeRecords.get(store.name)!;
          const t0 = performance.now();
          const steps: RestoreStepResult[] = await engineFor(spec).restore(store, spec as never, artefacts.filter((a) => a.store === store.name), {
            signal,
            drillDir: drill!.dir,
            onStepStart: (step, description) => emit('onStepStart', { store: store.name, step, description }),
            onStepEnd: (result) => emit('onStepEnd', { store: store.name, result }),
          });
          // A fetched artefact is named in the evidence by its source, not by the staging path it was restored from.
          for (const step of steps) step.artefact = staged.find((x) => x.store === store.name && x.step === step.step)?.ref ?? step.artefact;
          record.steps = steps;
          record.restoreDurationMs = performance.now() - t0;
          record.status = steps.every((s) => s.status === 'passed') ? 'passed' : 'failed';
          for (const s of steps) if (s.error) fail(new RestoreproofError(s.errorCode ?? 'E_RESTORE', `store ${store.name}: ${s.error}`, { hint: 'see stores[].steps[].stderr in the JSON report for the tool output' }));
          return record.status === 'passed';
        }),
      );
      return outcomes.every(Boolean);
    });

    // app: the application under test on the restored stores (spec.app): migration, then start.
    let appProblem: string | undefined;
    if (doc.spec.app && !signal.aborted) {
      if (!restoredAll) {
        skipPhase('app');
        appProblem = 'the restore failed, so the app was not started';
      } else {
        const onCheck = (result: CheckResult) => (report.checks.push(result), emit('onCheckEnd', result));
        startedApp = await phase('app', () => runAppPhase({ runtime, drill: drill!, runId, stores: started, signal, onCheck, onCheckStart: (id, name) => emit('onCheckStart', { id, name }) }));
        if (!startedApp) appProblem = 'the app did not start (see errors)';
      }
    }

    // checks: checks of a store that did not restore are skipped, not run against half a database.
    if (signal.aborted) throw new Stop();
    await phase('checks', async () => {
      const storesByName = new Map(started.map((s) => [s.name, s] as const));
      const restored = (name: string) => storeRecords.get(name)?.status === 'passed' && storesByName.has(name);
      const record = (result: CheckResult) => {
        report.checks.push(result);
        emit('onCheckEnd', result);
      };
      const timed = async (base: Omit<CheckResult, 'status' | 'expected' | 'actual' | 'message' | 'startedAt' | 'durationMs'>, run: () => Promise<CheckOutcome>) => {
        emit('onCheckStart', { id: base.id, name: base.name });
        const t0 = performance.now();
        const startedAt = new Date().toISOString();
        try {
          const outcome = await run();
          const status = outcome.passed ? (outcome.warn ? 'warned' : 'passed') : base.severity === 'warn' ? 'warned' : 'failed';
          record({ ...base, status, expected: outcome.expected, actual: outcome.actual, message: outcome.message, startedAt, durationMs: performance.now() - t0, ...(outcome.details ? { details: outcome.details } : {}) });
        } catch (err) {
          if (signal.aborted) {
            record({ ...base, status: 'skipped', expected: '', actual: null, message: `skipped: ${new InterruptedError(signal, 'while it ran; it was cancelled').message}`, startedAt, durationMs: performance.now() - t0 });
            return;
          }
          const message = err instanceof RestoreproofError && err.hint ? `${err.message} (${err.hint})` : errorMessage(err);
          record({ ...base, status: base.severity === 'warn' ? 'warned' : 'failed', expected: '', actual: null, message, startedAt, durationMs: performance.now() - t0 });
        }
      };

      // Checks the engines add by themselves (e.g. every collection of a mongodump archive restored).
      // They run after a failed restore too: what did arrive, and what is missing, is the evidence.
      for (const store of started) {
        const spec = stores[store.name]!;
        for (const auto of engineFor(spec).automaticChecks?.(store, spec as never, artefacts.filter((a) => a.store === store.name)) ?? []) {
          await timed({ id: auto.id, name: auto.name, type: 'completeness', store: store.name, severity: 'fail' }, () => auto.run(signal));
        }
      }
      if (doc.spec.consistency) {
        await timed({ id: 'consistency', name: `all artefacts within ${doc.spec.consistency.window} of each other`, type: 'consistency', store: '*', severity: 'fail' }, async () => consistencyOutcome(artefacts, doc.spec.consistency!.window));
      }

      for (const [index, check] of (doc.spec.checks ?? []).entries()) {
        const id = checkId(check, index);
        const name = checkTitle(check);
        const needs = storesOf(check);
        const severity = check.severity ?? 'fail';
        if (signal.aborted || !needs.every(restored)) {
          const why = signal.aborted ? 'run interrupted' : `store ${needs.filter((n) => !restored(n)).join(', ')} did not restore`;
          record({ id, name, type: check.type, store: needs.join(','), severity, status: 'skipped', expected: '', actual: null, message: `skipped: ${why}`, startedAt: new Date().toISOString(), durationMs: 0 });
          continue;
        }
        if (isGenericCheck(check)) {
          if (check.type === 'http' && !check.url && !startedApp) {
            record({ id, name, type: check.type, store: 'app', severity, status: 'skipped', expected: '', actual: null, message: `skipped: ${appProblem ?? 'no app'}`, startedAt: new Date().toISOString(), durationMs: 0 });
            continue;
          }
          const database = check.type === 'http' ? undefined : (check.database ?? engineFor(doc.spec.stores[check.store]!).defaultDatabase(doc.spec.stores[check.store] as never));
          await timed({ id, name, type: check.type, store: check.type === 'http' ? 'app' : check.store, ...(database ? { database } : {}), severity }, () =>
            runGenericCheck(check, { drill: drill!, stores: storesByName, ...(database ? { database } : {}), ...(startedApp ? { app: startedApp } : {}), ...(appProblem ? { appProblem } : {}), artefacts: report.artefacts, runStartedAt: report.startedAt, signal }));
          continue;
        }
        if (check.type === 'reachability') {
          await timed({ id, name, type: check.type, store: needs.join(','), severity }, () => runReachability(check, { drill: drill!, stores: storesByName, signal }));
          continue;
        }
        const spec = stores[check.store]!;
        const engine = engineFor(spec);
        const database = check.database ?? engine.defaultDatabase(spec as never);
        const runner = engine.checks[check.type] as CheckRunner<typeof check> | undefined;
        await timed({ id, name, type: check.type, store: check.store, ...(spec.engine === 'postgres' || spec.engine === 'mongodb' ? { database } : {}), severity }, async () => {
          if (!runner) throw new RestoreproofError('E_CHECK', `engine ${spec.engine} has no ${check.type} check`);
          return runner(check, { drill: drill!, store: storesByName.get(check.store)!, stores: storesByName, database, signal });
        });
      }
      return !report.checks.some((c) => c.status === 'failed');
    });
  } catch (err) {
    if (!(err instanceof Stop)) fail(interrupted(err));
  } finally {
    for (const name of ['preflight', 'verify', 'provision', 'restore', ...(drill?.document.spec.app ? ['app' as const] : []), 'checks'] as const) {
      if (!configError && drill && !report.phases.some((p) => p.name === name)) skipPhase(name);
    }
    // Checks that never ran still appear, so the report lists the whole drill.
    for (const [index, check] of (drill?.document.spec.checks ?? []).entries()) {
      const id = checkId(check, index);
      if (!report.checks.some((c) => c.id === id)) {
        report.checks.push({ id, name: checkTitle(check), type: check.type, store: storesOf(check).join(','), severity: check.severity ?? 'fail', status: 'skipped', expected: '', actual: null, message: signal.aborted ? 'skipped: run interrupted' : 'skipped: the drill stopped before checks', startedAt: new Date().toISOString(), durationMs: 0 });
      }
    }
    await phase('teardown', async () => {
      if (started.length === 0 && !startedApp) return true;
      const resources = () => [...(startedApp?.resources ?? []), ...started.flatMap((s) => [...s.resources])];
      if (options.keep && !signal.aborted) {
        startedApp?.keep();
        if (startedApp) report.teardown.keptApp = startedApp.connectionHelp();
        for (const store of started) {
          store.keep();
          const record = storeRecords.get(store.name);
          if (record) Object.assign(record, { kept: true, connection: store.connectionHelp() });
        }
        report.teardown.status = 'kept';
      } else {
        await startedApp?.stop().catch(() => {}); // first: it holds connections to the stores
        await Promise.allSettled(started.map((s) => s.stop()));
        report.teardown.status = resources().every((r) => r.removed) ? 'completed' : 'incomplete';
      }
      report.teardown.resources = resources();
      return report.teardown.status !== 'incomplete';
    });
    // The staging dir holds decrypted backups: it goes whatever happened, --keep included.
    const stagingRecord = await staging.remove();
    if (stagingRecord) {
      report.teardown.resources.push(stagingRecord);
      if (!stagingRecord.removed) report.teardown.status = 'incomplete';
      else if (report.teardown.status === 'nothing-to-do') report.teardown.status = 'completed';
    }
    report.teardown.completedAt = new Date().toISOString();
    await guard?.finish(report.teardown.status);
  }

  signal.removeEventListener('abort', onAbort);
  if (signal.aborted && !report.errors.some((e) => e.code === 'E_INTERRUPTED')) fail(new InterruptedError(signal, `during ${interruptedDuring ?? 'start-up'}`));
  report.stores = [...storeRecords.values()];
  finish(report, { drill, configError, interrupted: signal.aborted ? new InterruptedError(signal) : undefined });
  const dir = resolve(options.reportDir ?? drill?.document.spec.report?.dir ?? 'reports');
  const formats = options.formats ?? drill?.document.spec.report?.formats ?? defaultFormats;
  const final = redactDeep(report);
  const evidence = await prepareEvidence(final, { dir, drill, ...(options.env ? { env: options.env } : {}) });
  const written = selectedReporters(formats);
  Object.assign(final.reports, reportFiles(final.runId, written));
  try {
    await writeReports(final, { dir }, written);
  } catch (err) {
    final.errors.push(toReportError(new RestoreproofError('E_REPORT', `cannot write reports to ${dir}: ${errorMessage(err)}`)));
  }
  await evidence.finalize();
  for (const r of reporters) await r.onRunEnd?.(final);
  return final;
}

class Stop extends Error {}

/** An artefact's location as an auditor reads it on another machine: relative to the drill, with / separators. */
function pathFromDrill(drillDir: string, path: string): string {
  return relative(drillDir, path).split(sep).join('/') || '.';
}

function finish(report: RunReport, state: { drill: Drill | undefined; configError: boolean; interrupted: InterruptedError | undefined }) {
  const ended = new Date();
  report.endedAt = ended.toISOString();
  report.durationMs = ended.getTime() - Date.parse(report.startedAt);
  const c = report.summary.checks;
  c.total = report.checks.length;
  for (const check of report.checks) c[check.status]++;

  const objectives = state.drill?.document.spec.objectives;
  if (objectives?.rto) {
    // Time to a verified restore: everything up to the end of checks, not teardown.
    const checksEnd = report.phases.find((p) => p.name === 'checks' && p.status !== 'skipped')?.endedAt;
    const measured = checksEnd ? Date.parse(checksEnd) - Date.parse(report.startedAt) : report.durationMs;
    const targetMs = parseDuration(objectives.rto);
    report.objectives.rto = { target: objectives.rto, targetMs, measuredMs: measured, status: measured <= targetMs ? 'passed' : 'failed', basis: 'run start to end of checks' };
  }
  if (objectives?.rpo && report.artefacts.length) {
    const oldest = Math.min(...report.artefacts.map((a) => Date.parse(a.modifiedAt)));
    const targetMs = parseDuration(objectives.rpo);
    const measured = Date.parse(report.startedAt) - oldest;
    report.objectives.rpo = { target: objectives.rpo, targetMs, measuredMs: measured, status: measured <= targetMs ? 'passed' : 'failed', basis: 'age of the oldest artefact (file modification time) at run start' };
  }

  // Could not run: the environment stopped the drill (a could-not-run code) and nothing it did see
  // says the backup failed. A store whose restore the environment broke does not count against
  // the backup, nor do its checks.
  const brokenStores = new Set(report.stores.filter((s) => s.steps.some((step) => step.status === 'failed' && isCouldNotRun(step.errorCode))).map((s) => s.name));
  const backupFailed = report.stores.some((s) => s.steps.some((step) => step.status === 'failed' && !isCouldNotRun(step.errorCode)))
    || report.checks.some((k) => k.status === 'failed' && !k.store.split(',').some((name) => brokenStores.has(name)));
  const couldNotRun = report.errors.some((e) => isCouldNotRun(e.code)) && !backupFailed;
  const restoreFailed = report.stores.some((s) => s.status === 'failed');
  const phaseFailed = report.phases.some((p) => p.status === 'failed');
  const objectiveFailed = Object.values(report.objectives).some((o) => o?.status === 'failed');
  if (state.configError) [report.status, report.exitCode] = ['error', ExitCode.usage];
  else if (state.interrupted) [report.status, report.exitCode] = ['aborted', state.interrupted.exitCode];
  else if (couldNotRun) [report.status, report.exitCode] = ['could-not-run', ExitCode.couldNotRun];
  else if (restoreFailed || phaseFailed || c.failed > 0 || objectiveFailed || report.errors.length) [report.status, report.exitCode] = ['failed', ExitCode.failed];
  else if (c.warned > 0) [report.status, report.exitCode] = ['warned', ExitCode.passed];
  else [report.status, report.exitCode] = ['passed', ExitCode.passed];
}

function issueToError(issue: SpecIssue): ReportError {
  return { code: 'E_DRILL_CONFIG', message: issue.message, file: issue.file, ...(issue.line ? { line: issue.line } : {}), ...(issue.col ? { col: issue.col } : {}), ...(issue.path ? { path: issue.path } : {}) };
}

function toReportError(err: unknown, extra: Partial<ReportError> = {}): ReportError {
  if (err instanceof DrillConfigError && err.issues.length === 1) return { ...issueToError(err.issues[0]!), ...(err.hint ? { hint: err.hint } : {}), ...extra };
  if (err instanceof RestoreproofError) return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), ...extra };
  return { code: 'E_INTERNAL', message: errorMessage(err), ...extra };
}
