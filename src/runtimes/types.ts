import type { Readable } from 'node:stream';
import type { StoreSpec } from '../spec/types.ts';
import type { ToolResult } from '../util/process.ts';
import type { VerifiedArtefact } from '../engines/types.ts';

/** What a harness-side client needs to reach a store. */
export interface StoreEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Anything a run creates; recorded in the evidence and removed at teardown. */
export interface ResourceRecord {
  kind: 'process' | 'directory' | 'container' | 'network' | 'namespace';
  id: string;
  store?: string;
  /** Filled in at teardown. */
  removed?: boolean;
  error?: string;
  /** Containers: the image they ran. */
  image?: string;
  /** Containers: published ports, container port to host address (e.g. `5432/tcp` → `127.0.0.1:49153`). */
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
  /** Connection URL for `exec`'d client tools (inside the container on `containers`); defaults to `url`. */
  toolUrl?(database?: string): string;
  /** Connection URL with credentials, for clients and the app under test. Treat it as a secret. */
  url(database?: string): string;
  /** How a person reaches the store when it is kept (the password is never printed). */
  connectionHelp(): string[];
  /** Incident mode: leave the store running after the run. */
  keep(): void;
  /** Stops and removes; idempotent. Records the outcome on `resources`. */
  stop(): Promise<void>;
}

/** Runtimes declare what they can host as flags, not by probing at run time. */
export interface Runtime {
  readonly name: string;
  readonly engines: readonly StoreSpec['engine'][];
  /** One line per action provisioning would take; touches nothing. */
  describeProvision(request: Omit<ProvisionRequest, 'signal' | 'runId' | 'artefacts'>): Promise<string[]>;
  provision(request: ProvisionRequest): Promise<StartedStore>;
}
