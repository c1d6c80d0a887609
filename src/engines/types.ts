import type { ArtefactCheckRunner, CheckOutcome, CheckRunner } from '../checks/types.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { ArtefactInfo, VerifiedArtefact } from './artefact.ts';
export type { ArtefactInfo, VerifiedArtefact };
import type { EngineServers, LocalTool } from '../runtimes/servers.ts';
import type { BaselineFile } from '../drill/baseline.ts';
import type { RowSource } from './rows.ts';
export type { RowRequest, RowSource } from './rows.ts';
import type { CheckType, ReachabilityCheckSpec, StoreCheckSpec, StoreSpec } from '../drill/types.ts';

/** How an artefact is checked before any restore. */
export interface InspectOptions {
  hash?: boolean;
  /** What the fetch phase already knows of an artefact that never lands on this machine (`fetch: pod`). */
  known?: ArtefactInfo;
}

/** A check an engine adds on its own, e.g. mongodump completeness. */
export interface AutomaticCheck {
  id: string;
  name: string;
  run(signal: AbortSignal): Promise<CheckOutcome>;
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
  /** The stable code of an error that was not the tool's own exit (E_DOCKER_GONE, E_CONTAINER_DIED, E_ARTEFACT, …). */
  errorCode?: string;
  /** Engine-specific facts about what was restored (object counts, keyspace, …). */
  details?: Record<string, unknown>;
}

export interface RestoreContext {
  signal: AbortSignal;
  /** Directory of the drill file, for paths and secret files the steps name. */
  drillDir: string;
  onStepStart?(step: number, description: string): void;
  onStepEnd?(result: RestoreStepResult): void;
}

/** One reference to an object, as a database holds it. */
export interface ObjectReference {
  key: string;
  sha256?: string;
  size?: number;
}

export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
}

/** A problem the schema cannot see: a path (relative to what was validated) and a message. */
export type DrillIssue = [path: (string | number)[], message: string];

/** Engines whose data names objects (a column, a document field). Streams in UTF-8 byte order of key. */
export interface ReferenceSource {
  /** What a reachability check's `references` must say for this engine; paths relative to `references`. */
  issues(spec: ReachabilityCheckSpec['references']): DrillIssue[];
  streamReferences(store: StartedStore, spec: ReachabilityCheckSpec['references'], database: string, signal: AbortSignal): AsyncIterable<ObjectReference>;
}

/** Engines that hold objects. `listObjects` yields in UTF-8 byte order of key, as ListObjectsV2 does. */
export interface ObjectStore {
  listObjects(store: StartedStore, bucket: string, prefix: string): AsyncIterable<ListedObject>;
  openObject(store: StartedStore, bucket: string, key: string): Promise<NodeJS.ReadableStream>;
  defaultBucket(spec: StoreSpec): string | undefined;
}

/** Data a restore reads from elsewhere than an artefact (another bucket), which `doctor` checks is reachable. */
export interface RemoteSource {
  name: string;
  /** What was found; throws naming what is wrong. Reads nothing but a listing. */
  check(): Promise<string>;
}

/** Reads a live source (not a restore) into a baseline file, for `restoreproof baseline capture`. */
export interface BaselineCapture<S extends StoreSpec = StoreSpec> {
  /** What --from looks like, for messages. */
  readonly exampleUrl: string;
  /** The databases to capture when --database names none: those the drill restores, or none (the URL decides). */
  databases(spec: S): string[];
  /** With `content`, also each table's digest over its rows, computed as the engine's baseline check computes it on a restore. */
  capture(options: { connectionString: string; password?: string; databases?: string[]; content?: boolean }): Promise<BaselineFile>;
}

/** Semantic validation the schema cannot express; found at load, so a bad drill exits 2 before any restore. */
export interface EngineValidation<S extends StoreSpec = StoreSpec> {
  /**
   * Problems of the store's own restore steps; paths relative to the store. `drillDir` resolves the
   * files a step names besides its artefact (read synchronously: load is before any restore).
   */
  store?(spec: S, drillDir: string): DrillIssue[];
  /** Problems of a check aimed at a store of this engine; paths relative to the check. */
  check?(check: StoreCheckSpec): DrillIssue[];
}

/** The kinds of damage an engine can do to its restored store (`restoreproof mutate`). */
export type StateMutantKind =
  | 'delete-row'
  | 'delete-tenth'
  | 'drop-relation'
  | 'change-newest'
  | 'drop-index'
  | 'delete-object'
  | 'change-object'
  | 'delete-key'
  | 'age-timestamps';

/**
 * One kind of damage to one thing in a restored store, made so a drill's checks can be seen to
 * notice it. `apply` damages the store and resolves to the undo, which puts back exactly what was
 * there (rows, indexes, objects, keys), so the next mutant starts from the restored state.
 */
export interface StateMutant {
  /** Stable, `<kind>:<target>`, e.g. `delete-row:billing/public.invoices`: what a drill names to accept a survivor. */
  id: string;
  kind: StateMutantKind;
  /** The database (or bucket, or db number) and the relation, key or object damaged. */
  target: string;
  /** The damage in words, as a sentence starts: "deleting 1 row of public.invoices". */
  description: string;
  /** What check would notice it: "add a baseline or count check on billing". */
  hint: string;
  apply(signal: AbortSignal): Promise<() => Promise<void>>;
}

export interface MutantContext {
  /** The databases the drill restores into this store (or its buckets), as its checks name them. */
  databases: string[];
  /** spec.objectives.rpo in milliseconds, for `age-timestamps`. */
  rpoMs?: number;
  signal: AbortSignal;
}

/** The damage an engine knows how to do to its own stores; declared, so `mutate` never probes for it. */
export interface EngineMutants<S extends StoreSpec = StoreSpec> {
  readonly kinds: readonly StateMutantKind[];
  /** Every mutant of a restored store, in a stable order; reads the store, changes nothing. */
  state(store: StartedStore, spec: S, context: MutantContext): Promise<StateMutant[]>;
}

/**
 * One engine: what it restores, how, and which checks it answers. Capabilities are declared, not probed.
 * Whatever takes the store's spec is a method, not a function-typed property: methods are bivariant in
 * S, so an Engine<PostgresStoreSpec> is an Engine and `engineFor` needs no cast (the registry's map keeps
 * each engine paired with its own spec).
 */
export interface Engine<S extends StoreSpec = StoreSpec> {
  readonly name: S['engine'];
  readonly capabilities: {
    formats: readonly string[];
    multipleDatabases: boolean;
    /** The artefact is placed before the server starts (an RDB), not loaded into a running one. */
    restoresBeforeStart: boolean;
    /** Checks run against one database, which their results name. */
    checksNameDatabase: boolean;
  };
  readonly checks: Partial<Record<CheckType, CheckRunner<never>>>;
  /**
   * Checks that read only the store's artefacts, never the store (redis-check-rdb on an RDB). They
   * run whether or not the store started and restored: a truncated snapshot the server refuses to
   * start on still gets the check's verdict in the report.
   */
  readonly artefactChecks?: Partial<Record<CheckType, ArtefactCheckRunner<never>>>;
  /** How each kind of runtime starts its server; a runtime hosts the engines that declare its kind. */
  readonly servers: EngineServers;
  /**
   * Reads a step's local artefact (size, digest, format) without changing it; throws ArtefactError
   * when it cannot be restored as asked. Undefined for steps whose data comes from a remote source.
   */
  inspect(spec: S, step: number, drillDir: string, options?: InspectOptions): Promise<VerifiedArtefact | undefined>;
  /** One line per restore action; touches nothing. */
  describeRestore(spec: S, artefacts: VerifiedArtefact[]): string[];
  restore(store: StartedStore, spec: S, artefacts: VerifiedArtefact[], context: RestoreContext): Promise<RestoreStepResult[]>;
  /** The database checks use when they name none. */
  defaultDatabase(spec: S): string;
  /** The format a fetched artefact will have, guessed from its name before it is fetched (the plan's; a run reads its header). */
  plannedFormat(name: string, folder: boolean): string;
  automaticChecks?(store: StartedStore, spec: S, artefacts: VerifiedArtefact[]): AutomaticCheck[];
  /** Remote data the store's steps read, for `doctor` (the artefacts themselves are checked by the run's sources). */
  remoteSources?(spec: S, store: string, drillDir: string): RemoteSource[];
  readonly references?: ReferenceSource;
  readonly objects?: ObjectStore;
  /** Present when the engine answers the row-reading checks (auditChain, decrypt, freshness). */
  readonly rows?: RowSource;
  readonly baseline?: BaselineCapture<S>;
  /** Present when `restoreproof mutate` can damage this engine's restored stores. */
  readonly mutants?: EngineMutants<S>;
  readonly validate?: EngineValidation<S>;
  /**
   * Present when a store pod can download this engine's artefact itself (`fetch: pod`): what it cannot
   * fetch of this step; paths relative to the step's artefact.
   */
  podFetchIssues?(spec: S, step: number): DrillIssue[];
  /**
   * Binaries the harness itself runs for a check of this engine's stores, on every runtime (a
   * server it starts beside the store for that check): preflight finds them, so a missing one stops
   * the run before anything starts (exit 3).
   */
  checkTools?(check: StoreCheckSpec, spec: S): LocalTool[];
}
