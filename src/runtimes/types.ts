import type { Readable } from 'node:stream';
import type { AppCommandSpec, AppSpec, StoreSpec } from '../drill/types.ts';
import type { ToolResult } from '../util/process.ts';
import type { VerifiedArtefact } from '../engines/artefact.ts';

/** What a harness-side client needs to reach a store. */
export interface StoreEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Anything a run creates; recorded in the evidence and removed at teardown. */
export interface ResourceRecord {
  kind: 'process' | 'directory' | 'container' | 'network' | 'namespace' | 'pod' | 'service' | 'secret' | 'networkpolicy' | 'deployment';
  id: string;
  store?: string;
  /** Filled in at teardown. */
  removed?: boolean;
  error?: string;
  /** Containers: the image they ran. */
  image?: string;
  /** Containers: published ports, container port to host address (e.g. `5432/tcp` → `127.0.0.1:49153`); pods: the port-forward. */
  ports?: Record<string, string>;
}

export interface ExecOptions {
  stdin?: Readable;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

export interface ProvisionRequest {
  runId: string;
  drillName: string;
  storeName: string;
  spec: StoreSpec;
  drillDir: string;
  signal: AbortSignal;
  /** This store's verified artefacts; engines that restore before start (Redis) need them here. */
  artefacts?: VerifiedArtefact[];
  /** spec.network.egress: the run's stores and app may reach addresses outside the run. */
  egress?: boolean;
}

/** A store that is running and reachable. Disposing it removes everything it created, unless kept. */
export interface StartedStore extends AsyncDisposable {
  readonly name: string;
  readonly engine: StoreSpec['engine'];
  readonly runtime: string;
  /** Server version as the server reports it. */
  readonly version: string;
  readonly endpoint: StoreEndpoint;
  readonly resources: readonly ResourceRecord[];
  /** Runs one of the engine's client tools against this store, wherever the store lives. */
  exec(tool: string, args: string[], options?: ExecOptions): Promise<ToolResult>;
  /**
   * Makes a file or directory of this machine readable by `exec`'d tools and returns the path they
   * see: the same path on the local runtime, a copy streamed into the container on `containers`.
   */
  stage(hostPath: string, signal?: AbortSignal): Promise<string>;
  /**
   * Where `exec`'d client tools connect, as the engine's server declaration says (inside the
   * container on `containers`; InfluxDB: the RPC address `influxd restore -host` takes); else `url`.
   */
  toolUrl(database?: string): string;
  /** Restore steps (indexes into the store's `restore`) whose artefact the server was started on, before any restore ran (a data dir restored before start). */
  readonly restoredAtStart?: readonly number[];
  /** Connection URL with credentials, for clients and the app under test. Treat it as a secret. */
  url(database?: string): string;
  /** How a person reaches the store when it is kept (the password is never printed). */
  connectionHelp(): string[];
  /** Incident mode: leave the store running after the run. */
  keep(): void;
  /** Stops and removes; idempotent: a later call waits for the first to finish. Records the outcome on `resources`. */
  stop(): Promise<void>;
}

/** How the app reaches a store; runtimes whose apps live elsewhere (a container network) map the address. */
export type StoreAddress = (store: StartedStore) => { host: string; port: number };

/**
 * What a runtime needs to start the application under test (`spec.app`) or run its one-shot
 * migration. The env is resolved by the runtime through `env(address)`, because only the runtime
 * knows how the app reaches a store (loopback for local; a network alias for containers).
 */
export interface AppRequest {
  runId: string;
  drillName: string;
  drillDir: string;
  spec: AppSpec;
  signal: AbortSignal;
  /** spec.network.egress, as for the stores. */
  egress?: boolean;
  /** Resolves spec env (placeholders and secrets); `address` maps a store to how the app reaches it. */
  env(address?: StoreAddress, appPort?: number): Promise<Record<string, string>>;
}

/** The app as started: where the harness reaches it, its resources and its log. */
export interface StartedApp {
  /** Base URL as the harness reaches it, e.g. http://127.0.0.1:41234; relative http check paths go here. */
  readonly baseUrl: string;
  readonly resources: readonly ResourceRecord[];
  readonly running: boolean;
  /** The last lines the app wrote (stdout and stderr), redacted. */
  logTail(lines?: number): string;
  connectionHelp(): string[];
  keep(): void;
  /** Stops and removes; idempotent. Records the outcome on `resources`. */
  stop(): Promise<void>;
}

export interface AppTaskResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Tail of stdout and stderr, redacted. */
  log: string;
  durationMs: number;
}

/** Runtimes declare what they can host as flags, not by probing at run time. */
export interface Runtime {
  readonly name: string;
  readonly engines: readonly StoreSpec['engine'][];
  /** One line per action provisioning would take; touches nothing. */
  describeProvision(request: Omit<ProvisionRequest, 'signal' | 'runId' | 'artefacts'>): Promise<string[]>;
  provision(request: ProvisionRequest): Promise<StartedStore>;
  /** Its stores' pods can download an artefact themselves (`fetch: pod`). */
  readonly fetchesInPod?: boolean;
  /** Starts `spec.app` and resolves once it accepts connections on its port; absent when the runtime cannot host apps. */
  startApp?(request: AppRequest): Promise<StartedApp>;
  /** Runs a one-shot command (the app's migration) to completion against the restored stores. */
  runAppTask?(request: Omit<AppRequest, 'spec'> & { spec: AppCommandSpec & { timeout?: string } }): Promise<AppTaskResult>;
}

/** What `restoreproof gc` did (or, with --dry-run, would do) with one leftover of a past run. */
export interface GcAction<Kind extends string = string> {
  kind: Kind;
  id: string;
  name: string;
  run: string;
  expiresAt: string;
  action: 'removed' | 'kept' | 'failed';
  reason: string;
}
