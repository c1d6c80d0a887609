import { DrillConfigError, ExitCode, RestoreproofError, errorMessage, isCouldNotRun, type InterruptedError, type SpecIssue } from '../errors.ts';
import type { Drill } from '../drill/types.ts';
import type { ResourceRecord } from '../runtimes/types.ts';
import { parseDuration } from '../util/duration.ts';
import { redactDeep } from '../util/redact.ts';
import { toolVersion } from '../version.ts';
import type { ReportFiles } from './index.ts';
import { reportSchemaVersion, type ArtefactRecord, type PhaseName, type PhaseRecord, type PreflightItem, type MutationRecord, type ReportError, type RunReport, type RuntimeSelection, type StoreRecord } from './types.ts';

type CheckRecord = RunReport['checks'][number];
/** What the evidence step adds once the run is over (schema 1.1 fields, the history chain). */
export type EvidenceFields = Partial<Pick<RunReport, 'scope' | 'environment' | 'timeline' | 'baselines' | 'result' | 'sequence' | 'previous' | 'artefacts' | 'checks' | 'objectives'>>;

/**
 * The one writer of a run's report. Phases and the evidence step record what happened through it;
 * reporters, notifications and the caller read `report`, which nothing else changes.
 */
export class ReportBuilder {
  readonly #report: RunReport;
  readonly #stores = new Map<string, StoreRecord>();
  #finished = false;

  constructor(init: { runId: string; file: string; drillName: string; runtime: string; trigger: RunReport['trigger']; host: RunReport['host']; startedAt: Date }) {
    this.#report = {
      schemaVersion: reportSchemaVersion,
      runId: init.runId,
      tool: { name: 'restoreproof', version: toolVersion, node: process.version },
      drill: { name: init.drillName, file: init.file, sha256: null, controls: [], includes: [] },
      trigger: init.trigger,
      host: init.host,
      runtime: init.runtime,
      status: 'failed',
      exitCode: ExitCode.failed,
      startedAt: init.startedAt.toISOString(),
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
  }

  /** The report as recorded so far; read-only for everyone but this builder. */
  get report(): Readonly<RunReport> {
    return this.#report;
  }

  phase(record: PhaseRecord): void {
    this.#report.phases.push(record);
  }

  skipPhase(name: PhaseName): void {
    const now = new Date().toISOString();
    this.#report.phases.push({ name, status: 'skipped', startedAt: now, endedAt: now, durationMs: 0 });
  }

  hasPhase(name: PhaseName): boolean {
    return this.#report.phases.some((p) => p.name === name);
  }

  error(err: unknown, extra: Partial<ReportError> = {}): void {
    this.#report.errors.push(toReportError(err, extra));
  }

  /** An error already shaped (and redacted) by its writer. */
  errorRecord(error: ReportError): void {
    this.#report.errors.push(error);
  }

  hasError(code: string): boolean {
    return this.#report.errors.some((e) => e.code === code);
  }

  configIssues(issues: readonly SpecIssue[]): void {
    for (const issue of issues) this.#report.errors.push(issueToError(issue));
  }

  drillLoaded(drill: Drill): void {
    const { metadata } = drill.document;
    this.#report.drill = {
      name: metadata.name,
      file: drill.file,
      sha256: drill.sha256,
      ...(metadata.owner ? { owner: metadata.owner } : {}),
      ...(metadata.description ? { description: metadata.description } : {}),
      controls: metadata.controls ?? [],
      includes: [],
    };
  }

  include(file: { path: string; sha256: string }): void {
    this.#report.drill.includes.push(file);
  }

  runtime(name: string, selection?: RuntimeSelection): void {
    this.#report.runtime = name;
    if (selection) this.#report.runtimeSelection = selection;
  }

  preflight(items: PreflightItem[]): void {
    this.#report.preflight = items;
  }

  artefact(record: ArtefactRecord): void {
    this.#report.artefacts.push(record);
  }

  /** A digest read after verify recorded the artefact ('' when the run stopped before it was read). */
  artefactDigest(store: string, step: number, sha256: string): void {
    const record = this.#report.artefacts.find((r) => r.store === store && r.step === step);
    if (record) record.sha256 = sha256;
  }

  /** fetch: pod: the digest the store's pod computed, and the source record it completes. */
  podFetched(store: string, step: number, sha256: string, source: ArtefactRecord['source']): void {
    const record = this.#report.artefacts.find((r) => r.store === store && r.step === step);
    if (!record) return;
    record.sha256 = sha256;
    if (source) record.source = source;
  }

  store(record: StoreRecord): void {
    this.#stores.set(record.name, record);
  }

  updateStore(name: string, change: Partial<StoreRecord>): void {
    const record = this.#stores.get(name);
    if (record) Object.assign(record, change);
  }

  storeStatus(name: string): StoreRecord['status'] | undefined {
    return this.#stores.get(name)?.status;
  }

  /** A store's record as it stands (report.stores is filled in only when the run finishes). */
  storeRecord(name: string): Readonly<StoreRecord> | undefined {
    return this.#stores.get(name);
  }

  check(result: CheckRecord): void {
    this.#report.checks.push(result);
  }

  mutation(record: MutationRecord): void {
    this.#report.mutation = record;
  }

  teardown(change: Partial<RunReport['teardown']>): void {
    Object.assign(this.#report.teardown, change);
  }

  teardownResource(record: ResourceRecord): void {
    this.#report.teardown.resources.push(record);
  }

  files(files: ReportFiles): void {
    Object.assign(this.#report.reports, files);
  }

  dropFile(kind: keyof ReportFiles): void {
    delete this.#report.reports[kind];
  }

  evidence(fields: EvidenceFields): void {
    Object.assign(this.#report, fields);
  }

  /** Signed evidence was asked for and cannot be produced: a run that passed did not pass. */
  failVerdict(): void {
    const report = this.#report;
    if (report.status === 'passed' || report.status === 'warned') [report.status, report.exitCode] = ['failed', ExitCode.failed];
    if (report.result) report.result.status = 'failed';
  }

  /**
   * The run is over: stores, summary, objectives and the verdict, then every secret redacted. What
   * follows (evidence, files) records into the redacted report.
   */
  finish(state: { drill: Drill | undefined; configError: boolean; interrupted: InterruptedError | undefined }): Readonly<RunReport> {
    if (this.#finished) return this.#report;
    this.#finished = true;
    this.#report.stores = [...this.#stores.values()];
    decide(this.#report, state);
    const redacted = redactDeep(this.#report);
    Object.assign(this.#report, redacted);
    return this.#report;
  }
}

function decide(report: RunReport, state: { drill: Drill | undefined; configError: boolean; interrupted: InterruptedError | undefined }) {
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
  // restoreproof mutate: a drill that passes but notices too little of the damage done to it fails.
  else if (report.mutation?.verdict === 'failed') [report.status, report.exitCode] = ['failed', ExitCode.failed];
  else if (c.warned > 0) [report.status, report.exitCode] = ['warned', ExitCode.passed];
  else [report.status, report.exitCode] = ['passed', ExitCode.passed];
}

function issueToError(issue: SpecIssue): ReportError {
  return { code: 'E_DRILL_CONFIG', message: issue.message, file: issue.file, ...(issue.line ? { line: issue.line } : {}), ...(issue.col ? { col: issue.col } : {}), ...(issue.path ? { path: issue.path } : {}) };
}

export function toReportError(err: unknown, extra: Partial<ReportError> = {}): ReportError {
  if (err instanceof DrillConfigError && err.issues.length === 1) return { ...issueToError(err.issues[0]!), ...(err.hint ? { hint: err.hint } : {}), ...extra };
  if (err instanceof RestoreproofError) return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), ...extra };
  return { code: 'E_INTERNAL', message: errorMessage(err), ...extra };
}
