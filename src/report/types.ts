import type { CheckResult } from '../checks/types.ts';
import type { RestoreStepResult } from '../engines/types.ts';
import type { ResourceRecord } from '../runtimes/types.ts';

export const reportSchemaVersion = '1.0';

export type RunStatus = 'passed' | 'warned' | 'failed' | 'error' | 'aborted';
export type PhaseName = 'load' | 'verify' | 'provision' | 'restore' | 'checks' | 'teardown';

export interface PhaseRecord {
  name: PhaseName;
  status: 'passed' | 'failed' | 'skipped';
  startedAt: string;
  endedAt: string;
  durationMs: number;
}

export interface ArtefactRecord {
  store: string;
  step: number;
  ref: string;
  path: string;
  size: number;
  sha256: string;
  modifiedAt: string;
  compression: string;
  format: string;
}

export interface StoreRecord {
  name: string;
  engine: string;
  runtime: string;
  version: string;
  status: 'passed' | 'failed' | 'skipped';
  restoreDurationMs: number;
  steps: RestoreStepResult[];
  kept: boolean;
  /** Only when kept: how to reach it (never the password). */
  connection?: string[];
}

export interface ObjectiveRecord {
  target: string;
  targetMs: number;
  measuredMs: number;
  status: 'passed' | 'failed';
  basis: string;
}

export interface ReportError {
  code: string;
  message: string;
  hint?: string;
  file?: string;
  line?: number;
  col?: number;
  path?: string;
}

/** The evidence document: `<run-id>.json`, validated by schemas/report.schema.json. */
export interface RunReport {
  schemaVersion: typeof reportSchemaVersion;
  runId: string;
  tool: { name: 'restoreproof'; version: string; node: string };
  drill: { name: string; file: string; sha256: string | null; owner?: string; description?: string; controls: string[]; includes: { path: string; sha256: string }[] };
  trigger: { kind: 'manual' | 'ci'; provider?: string; jobUrl?: string; actor: string };
  host: { hostname: string; platform: string };
  runtime: string;
  status: RunStatus;
  exitCode: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  phases: PhaseRecord[];
  artefacts: ArtefactRecord[];
  stores: StoreRecord[];
  checks: CheckResult[];
  summary: { checks: Record<'total' | 'passed' | 'failed' | 'warned' | 'skipped', number> };
  objectives: { rto?: ObjectiveRecord; rpo?: ObjectiveRecord };
  teardown: { status: 'completed' | 'incomplete' | 'kept' | 'nothing-to-do'; completedAt: string; resources: ResourceRecord[] };
  errors: ReportError[];
  /** Files written for this run, relative to the report dir. */
  reports: Partial<Record<'json' | 'junit' | 'markdown' | 'html' | 'mochawesomeJson', string>>;
}

/** Reporters are event listeners; every hook is optional. */
export interface Reporter {
  onRunStart?(event: { runId: string; drill: string; runtime: string }): void;
  onPhaseStart?(phase: PhaseName): void;
  onPhaseEnd?(phase: PhaseRecord): void;
  onStepStart?(event: { store: string; step: number; description: string }): void;
  onStepEnd?(event: { store: string; result: RestoreStepResult }): void;
  onCheckStart?(event: { id: string; name: string }): void;
  onCheckEnd?(result: CheckResult): void;
  onRunEnd?(report: RunReport): void | Promise<void>;
}
