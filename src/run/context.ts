import type { Drill, RuntimeChoice, StoreSpec } from '../drill/types.ts';
import type { VerifiedArtefact } from '../engines/types.ts';
import { InterruptedError } from '../errors.ts';
import { ReportBuilder } from '../report/builder.ts';
import type { ReportFormat } from '../report/index.ts';
import type { PhaseName, PhaseRecord, Reporter } from '../report/types.ts';
import type { RunGuard } from '../runtimes/reaper/index.ts';
import type { Runtime, StartedApp, StartedStore } from '../runtimes/types.ts';
import { drillDisplayName } from '../drill/load.ts';
import { ArtefactDigests } from '../sources/digests.ts';
import { Staging, type StagedArtefact } from '../sources/staging.ts';
import { detectTrigger, hostInfo, newRunId } from './identity.ts';

export interface RunOptions {
  /** Default: the drill's spec.runtime, else `auto`. */
  runtime?: RuntimeChoice;
  /** Where reports go; defaults to the drill's spec.report.dir, then ./reports. */
  reportDir?: string;
  formats?: ReportFormat[];
  /** `restoreproof mutate`: after the drill passes, damage its stores and artefacts and score what its checks notice. */
  mutants?: boolean;
  /** Incident mode: leave every store running and print how to reach it. */
  keep?: boolean;
  reporters?: Reporter[];
  /** Aborting it (SIGINT, SIGTERM) stops the run; teardown and reports still happen. */
  signal?: AbortSignal;
  runId?: string;
  env?: Record<string, string | undefined>;
}

type Emit = <K extends keyof Reporter>(hook: K, ...args: Parameters<NonNullable<Reporter[K]>>) => void;

/**
 * Everything one run shares between its phases. The loaded drill is read, never changed: what the
 * phases produce (staged artefacts, verified artefacts, started stores) lives here beside it, and
 * the report is written only through `report`.
 */
export interface RunContext {
  readonly runId: string;
  readonly file: string;
  readonly options: Readonly<RunOptions>;
  readonly signal: AbortSignal;
  readonly report: ReportBuilder;
  readonly emit: Emit;
  /** The run-owned staging dir (fetched, decrypted, unpacked artefacts); removed at teardown. */
  readonly staging: Staging;
  /** Local artefacts' digests, read while the stores start and restore. */
  readonly digests: ArtefactDigests;
  /** Set by the load phase. */
  drill?: Drill;
  /** A config error stops the run with exit 2 and skips nothing that never applied. */
  configError: boolean;
  runtime?: Runtime;
  guard?: RunGuard;
  /** What the fetch phase staged, by store and step. */
  staged: StagedArtefact[];
  /** The drill's stores as the engines see them: fetched steps name their staged path. */
  stores: Record<string, StoreSpec>;
  artefacts: VerifiedArtefact[];
  started: StartedStore[];
  app?: StartedApp;
  /** Why the app is not there for http checks that need it. */
  appProblem?: string;
  /** The phase running now, and the one an abort interrupted. */
  current?: PhaseName;
  interruptedDuring?: string;
}

export function createRunContext(file: string, options: RunOptions): RunContext {
  const runId = options.runId ?? newRunId();
  const reporters = options.reporters ?? [];
  const emit: Emit = (hook, ...args) => {
    for (const r of reporters) (r[hook] as ((...a: unknown[]) => void) | undefined)?.apply(r, args);
  };
  return {
    runId,
    file,
    options,
    signal: options.signal ?? new AbortController().signal,
    report: new ReportBuilder({ runId, file, drillName: drillDisplayName(file), runtime: options.runtime ?? 'auto', trigger: detectTrigger(), host: hostInfo(), startedAt: new Date() }),
    emit,
    staging: new Staging(runId),
    digests: new ArtefactDigests(),
    configError: false,
    staged: [],
    stores: {},
    artefacts: [],
    started: [],
  };
}

/** Ends the run's phases early: what stopped it is already in the report. */
export class Stop extends Error {}

/** The loaded drill; only phases after load ask for it. */
export function drillOf(ctx: RunContext): Drill {
  if (!ctx.drill) throw new Stop();
  return ctx.drill;
}

export function runtimeOf(ctx: RunContext): Runtime {
  if (!ctx.runtime) throw new Stop();
  return ctx.runtime;
}

/**
 * What an abort stopped is recorded as the interruption, not as the failure it caused (a killed
 * initdb, a closed exec stream, the abort reason thrown as is). Teardown failures stay what they are.
 */
export function interruption(ctx: RunContext, err: unknown): unknown {
  return ctx.signal.aborted && ctx.current !== 'teardown' ? new InterruptedError(ctx.signal, `during ${ctx.current ?? 'start-up'}`) : err;
}

/**
 * Runs one phase: times it, tells the reporters, records it. A phase that throws or returns false
 * failed; what it threw is in the report and the phase returns undefined.
 */
export async function phase<T>(ctx: RunContext, name: PhaseName, fn: () => Promise<T>): Promise<T | undefined> {
  const t0 = new Date();
  ctx.current = name;
  ctx.emit('onPhaseStart', name);
  let status: PhaseRecord['status'] = 'passed';
  try {
    const value = await fn();
    if (value === false) status = 'failed';
    return value;
  } catch (err) {
    status = 'failed';
    ctx.report.error(interruption(ctx, err));
    return undefined;
  } finally {
    const record: PhaseRecord = { name, status, startedAt: t0.toISOString(), endedAt: new Date().toISOString(), durationMs: Date.now() - t0.getTime() };
    ctx.report.phase(record);
    ctx.emit('onPhaseEnd', record);
  }
}
