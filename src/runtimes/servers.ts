import { randomBytes } from 'node:crypto';
import type { StoreSpec } from '../drill/types.ts';
import { registerSecret } from '../util/redact.ts';
import type { ProvisionRequest, StartedStore, StoreEndpoint } from './types.ts';

/**
 * How the runtimes start one engine's server, declared by the engine (`Engine.servers`). A runtime
 * hosts the engines that declare its kind: `local` the local runtime; `container` the containers
 * and kubernetes runtimes. Runtimes read these and never ask which engine they run.
 */
export interface EngineServers {
  readonly local?: LocalServerDeclaration;
  readonly container?: ContainerServerDeclaration;
}

/** A binary the local runtime runs for a store, for `doctor` and the preflight. */
export interface LocalTool {
  /** What the report calls it (`initdb`; several names when one lookup finds them all). */
  name: string;
  /** Its path; throws a ToolNotFoundError (or another RestoreproofError) naming the fix. */
  find(): Promise<string>;
  /** How it prints its version (default `--version`). */
  versionArgs?: string[];
}

/** The server as a process on this machine, from binaries installed here. */
export interface LocalServerDeclaration {
  start(request: ProvisionRequest): Promise<StartedStore>;
  /** One line per action `start` would take; touches nothing. */
  describe(spec: StoreSpec): Promise<string[]>;
  /** Every binary a store's start and restore run here. */
  tools(spec: StoreSpec): Promise<LocalTool[]>;
}

/** The server in a container (or a pod) from an image. */
export interface ContainerServerDeclaration {
  /** The official image, and with `{version}` for a store that names its version. */
  readonly image: { latest: string; versioned: string };
  recipe(request: ProvisionRequest): ContainerRecipe;
}

/** What one store's container needs: its port, environment, command, files, tools and readiness probe. */
export interface ContainerRecipe {
  port: number;
  env: Record<string, string>;
  command?: string[];
  /** Written into the container before it starts (Redis: the snapshot and its config). */
  files?: { source: string; target: string }[];
  directories?: { source: string; target: string }[];
  contents?: { content: string; target: string; mode?: number }[];
  user: string;
  password: string;
  /** Client tools a restore runs inside the container; checked before any restore starts. */
  tools: string[];
  toolUser?: string;
  toolEnv: Record<string, string>;
  /** Proves the server answers queries through the mapped port; returns its version. */
  probe(endpoint: StoreEndpoint): Promise<string>;
  /** The version when the probe cannot tell it (MinIO), read through the image's own tools. */
  versionFromTools?(store: StartedStore): Promise<string>;
  url(endpoint: StoreEndpoint, database?: string): string;
  toolUrl(database?: string): string;
  help(endpoint: StoreEndpoint, containerId: string): string[];
}

/** A generated password (or secret key), registered so no log, report or error shows it. */
export function generatedSecret(): string {
  const secret = randomBytes(24).toString('base64url');
  registerSecret(secret);
  return secret;
}
