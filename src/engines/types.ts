import type { CheckRunner } from '../checks/types.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { ArtefactInfo } from '../sources/local.ts';
import type { CheckType, StoreSpec } from '../spec/types.ts';

/** An artefact checked before any restore: where it is, what it is, its digest. */
export interface VerifiedArtefact {
  store: string;
  step: number;
  info: ArtefactInfo;
  /** Format after detection, e.g. `custom` for a pg_dump -Fc file. */
  format: string;
}

export interface RestoreStepResult {
  step: number;
  artefact: string;
  format: string;
  database?: string;
  tool: string;
  args: string[];
  status: 'passed' | 'failed' | 'skipped';
  exitCode: number | null;
  /** The tool's stderr, trimmed to its tail. */
  stderr: string;
  startedAt: string;
  durationMs: number;
  error?: string;
}

export interface RestoreContext {
  signal: AbortSignal;
  onStepStart?(step: number, description: string): void;
  onStepEnd?(result: RestoreStepResult): void;
}

/** One engine: what it restores, how, and which checks it answers. Capabilities are declared, not probed. */
export interface Engine<S extends StoreSpec = StoreSpec> {
  readonly name: S['engine'];
  readonly capabilities: { formats: readonly string[]; multipleDatabases: boolean };
  readonly checks: Partial<Record<CheckType, CheckRunner<never>>>;
  /** Detects or confirms the artefact's format; throws ArtefactError when it cannot be restored as asked. */
  detectFormat(spec: S, step: number, info: ArtefactInfo): string;
  /** One line per restore action; touches nothing. */
  describeRestore(spec: S, artefacts: VerifiedArtefact[]): string[];
  restore(store: StartedStore, spec: S, artefacts: VerifiedArtefact[], context: RestoreContext): Promise<RestoreStepResult[]>;
  /** The database checks use when they name none. */
  defaultDatabase(spec: S): string;
}
