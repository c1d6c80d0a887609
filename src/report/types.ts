import type { CheckResult } from '../checks/types.ts';
import type { RestoreStepResult } from '../engines/types.ts';
import type { RuntimeSelection } from '../runtimes/select.ts';
import type { ResourceRecord } from '../runtimes/types.ts';
import type { SourceRecord } from '../sources/staging.ts';

export type { RuntimeSelection };

/** 1.2: could-not-run and the preflight; 1.3: artefact paths relative to the drill, plus the host they were read on; 1.4: E_STORE_DIED and E_INTERRUPTED; 1.5: the mutants phase and the mutation score. */
export const reportSchemaVersion = '1.5';

/** `error`: usage or config (exit 2); `could-not-run`: the environment lacks something the drill needs (exit 3). */
export type RunStatus = 'passed' | 'warned' | 'failed' | 'error' | 'could-not-run' | 'aborted';
export type PhaseName = 'load' | 'preflight' | 'fetch' | 'verify' | 'provision' | 'restore' | 'app' | 'checks' | 'mutants' | 'teardown';

/**
 * One thing a run needs, as the preflight found it. `missing` items carry the code of the error a
 * run would stop with: a could-not-run code (exit 3), or E_ARTEFACT when the backup itself is not
 * there (that is the backup failing, exit 1).
 */
export interface PreflightItem {
  kind: 'runtime' | 'tool' | 'image' | 'permission' | 'secret' | 'source' | 'artefact' | 'signing-key';
  /** What was checked: a tool, an image, a drill path such as spec.stores.db.restore[0].artefact.s3.secretKey. */
  name: string;
  /** `unchecked`: the preflight cannot tell from here (a cluster node's registry access); never a failure. */
  status: 'ok' | 'missing' | 'unchecked';
  detail: string;
  hint?: string;
  code?: string;
}

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
  /** Relative to the drill's directory (POSIX separators); a fetched artefact: its source and chosen object. */
  path: string;
  /** The machine the artefact was read on. */
  host: string;
  kind: 'file' | 'directory';
  /** Directories: number of files. */
  entries?: number;
  size: number;
  sha256: string;
  modifiedAt: string;
  compression: string;
  format: string;
  /** When the backup was taken (the artefact's own claim, else its modification time). Filled by src/evidence when the source sets none. */
  backupTime?: string;
  /** How the artefact was chosen among candidates. */
  selection?: {
    method: 'explicit' | 'latest' | 'random'; window?: string; candidates?: number;
    /** Fetched artefacts: the pattern, what ordered the candidates, the seed of a random pick, the chosen key and why. */
    pattern?: string; by?: 'date' | 'mtime'; seed?: string; chosen?: string; reason?: string;
  };
  /** Fetched artefacts (src/sources): where from (no credentials), the digest as stored, how it was checked, decrypted and unpacked. */
  source?: SourceRecord;
  /** Id of the key the artefact was encrypted with, when it was. */
  encryptionKeyId?: string;
  /** The point in time the artefact claims to capture, and where the claim comes from. */
  pointInTime?: { at: string; source: string };
}

export interface StoreRecord {
  name: string;
  /** The engine that ran. */
  engine: string;
  /** The name the drill gave the engine, when it was an alias (e.g. what the engine's schema.json declares). */
  requestedEngine?: string;
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
  /** RTO only: the measured duration of each phase (and each store's restore) counted against the target. */
  phases?: { phase: string; store?: string; durationMs: number }[];
}

/** One entry of the evidence timeline: a phase, or one store's restore. UTC timestamps. */
export interface TimelineEntry {
  phase: PhaseName;
  store?: string;
  status: 'passed' | 'failed' | 'skipped';
  startedAt: string;
  endedAt: string;
  durationMs: number;
}

/** Where a baseline came from: who captured it, when, from which source, how consistently. */
export interface BaselineProvenance {
  path: string;
  sha256: string;
  checks: string[];
  capturedAt?: string;
  engine?: string;
  tool?: { name: string; version: string };
  source?: { host: string; port: number; user: string; serverVersion: string };
  consistency?: string;
}

export type Verdict = 'passed' | 'warned' | 'failed';

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
  /** Present when `auto` was asked for: which runtime was chosen and why. */
  runtimeSelection?: RuntimeSelection;
  /** What the preflight found (absent when the run stopped before it). */
  preflight?: PreflightItem[];
  status: RunStatus;
  exitCode: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  phases: PhaseRecord[];
  artefacts: ArtefactRecord[];
  stores: StoreRecord[];
  /** Every check carries `digest`: sha256 of the canonical JSON of its spec and its actual output (src/evidence). */
  checks: (CheckResult & { digest?: string })[];
  summary: { checks: Record<'total' | 'passed' | 'failed' | 'warned' | 'skipped', number> };
  objectives: { rto?: ObjectiveRecord; rpo?: ObjectiveRecord };
  /** `keptApp`: with --keep and spec.app, how to reach the kept app. */
  teardown: { status: 'completed' | 'incomplete' | 'kept' | 'nothing-to-do'; completedAt: string; resources: ResourceRecord[]; keptApp?: string[] };
  errors: ReportError[];
  /** Files written for this run, relative to the report dir. */
  reports: Partial<Record<'json' | 'junit' | 'markdown' | 'html' | 'mochawesomeJson' | 'compliance' | 'envelope', string>>;
  // Compliance evidence (schema 1.1 and later). Optional here because src/evidence fills them in just
  // before the reports are written; the JSON schema requires them in every written report.
  /** What the drill covers: stores with engines and versions, and the controls it maps to. */
  scope?: { stores: { name: string; engine: string; version: string; requestedVersion?: string }[]; controls: string[] };
  /** Where the restore ran and how it was isolated. */
  environment?: { runtime: string; isolation: string; images: { name: string; digest?: string }[]; network?: string; namespace?: string };
  timeline?: TimelineEntry[];
  baselines?: BaselineProvenance[];
  /** The overall verdict with a per-store breakdown. */
  result?: { status: Verdict; stores: { name: string; status: Verdict | 'skipped'; restore: StoreRecord['status']; checks: Record<'passed' | 'failed' | 'warned' | 'skipped', number> }[] };
  /** Present for `restoreproof mutate` (and `run --mutants`). */
  mutation?: MutationRecord;
  /** Position of this run in its drill's history (1 = first). */
  sequence?: number;
  /** The chain: the previous report of the same drill in the history, by run id and sha256 of its file. */
  previous?: { runId: string; sha256: string } | null;
}

/**
 * One kind of damage done to a restored store (a state mutant) or to a run-owned copy of its
 * artefact (an artefact mutant), and whether the drill noticed it.
 */
export interface MutantRecord {
  id: string;
  kind: string;
  store: string;
  target: string;
  /** As a sentence starts: "deleting 1 row of public.invoices". */
  description: string;
  /** The check that would notice it. */
  hint: string;
  /** `accepted`: survived, and the drill's spec.mutation.accept says why it may; `not-run`: the damage could not be made (error says why). */
  status: 'killed' | 'survived' | 'accepted' | 'not-run';
  /** What noticed it: a check id, or `verify` / `restore` for an artefact mutant. */
  killedBy?: string;
  acceptedWhy?: string;
  /** An accepted state mutant: the drill declares its damage out of scope, so it was never made. */
  notMade?: true;
  error?: string;
  durationMs: number;
}

/** `restoreproof mutate`: how much of the damage the drill's checks notice. */
export interface MutationRecord {
  /** `not-scored`: the unmutated drill did not pass (or the run stopped first), so no score means anything. */
  status: 'scored' | 'not-scored' | 'stopped';
  /** Why there is no score, or why mutation stopped early (an undo that failed). */
  reason?: string;
  /** killed / (total - accepted - not run); null when not scored. */
  score: number | null;
  minScore: number;
  verdict: 'passed' | 'failed';
  killed: number;
  total: number;
  accepted: number;
  notRun: number;
  /** `checksAfterUndo`: the store's checks, run again once every state mutant was undone. */
  stores: { name: string; killed: number; total: number; accepted: number; score: number | null; note?: string; checksAfterUndo?: 'passed' | 'failed' }[];
  mutants: MutantRecord[];
  durationMs: number;
}

/** Reporters are event listeners; every hook is optional. */
export interface Reporter {
  onRunStart?(event: { runId: string; drill: string; runtime: string }): void;
  onRuntimeSelected?(selection: RuntimeSelection): void;
  onPhaseStart?(phase: PhaseName): void;
  onPhaseEnd?(phase: PhaseRecord): void;
  onStepStart?(event: { store: string; step: number; description: string }): void;
  onStepEnd?(event: { store: string; result: RestoreStepResult }): void;
  onCheckStart?(event: { id: string; name: string }): void;
  onCheckEnd?(result: CheckResult): void;
  onMutantEnd?(result: MutantRecord): void;
  onRunEnd?(report: RunReport): void | Promise<void>;
}
