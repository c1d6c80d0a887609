/** The drill as written (after interpolation and schema validation). Mirrors schemas/drill.schema.json. */
export interface DrillDocument {
  apiVersion: 'restoreproof/v1';
  kind: 'RestoreDrill';
  metadata: DrillMetadata;
  spec: DrillSpec;
}

export interface DrillMetadata {
  name: string;
  owner?: string;
  description?: string;
  controls?: string[];
  labels?: Record<string, string>;
}

/** Where stores run. */
export type RuntimeName = 'local' | 'containers';
/** What a drill or the CLI may ask for: a runtime, or `auto` (containers when a Docker engine answers, else local). */
export type RuntimeChoice = RuntimeName | 'auto';
export type ReportFormat = 'json' | 'junit' | 'markdown' | 'html';

export interface DrillSpec {
  runtime?: RuntimeChoice;
  stores: Record<string, StoreSpec>;
  checks?: CheckSpec[];
  objectives?: { rto?: string; rpo?: string };
  report?: {
    dir?: string;
    formats?: ReportFormat[];
    /** Sign the evidence (DSSE, Ed25519) with this private key; relative to the drill file. */
    sign?: { keyFile: string };
    /** History root; this drill's chain lives in `<history>/<drill-name>/`. Default: `<report dir>/history`. */
    history?: string;
    /** POST the result document; header values come from the environment or a file and are never logged. */
    webhook?: { url: string; headers?: Record<string, SecretRef> };
    /** Push metrics to a Prometheus Pushgateway. */
    pushgateway?: { url: string; job?: string };
  };
  consistency?: { window: string };
}

export type SecretRef = { env: string } | { file: string };

export type StoreSpec = PostgresStoreSpec | MongoStoreSpec | S3StoreSpec | RedisStoreSpec;

/** containers runtime: the image a store runs and its limits. Ignored by the local runtime. */
export interface ContainerStoreOptions {
  /** Image of the store's container; `{version}` is replaced by the store's version. */
  image?: string;
  resources?: { cpus?: number; memory?: string };
}
export type EngineName = StoreSpec['engine'];

export interface PostgresStoreSpec extends ContainerStoreOptions {
  engine: 'postgres';
  version?: string;
  binDir?: string;
  restore: PostgresRestoreStep[];
}

export type PostgresFormat = 'auto' | 'custom' | 'plain' | 'dumpall';

export interface PostgresRestoreStep {
  artefact: string;
  format?: PostgresFormat;
  compression?: 'auto' | 'none' | 'gzip';
  database?: string;
  jobs?: number;
  exitOnError?: boolean;
  extraArgs?: string[];
  roles?: string[];
}

export interface MongoStoreSpec extends ContainerStoreOptions {
  engine: 'mongodb';
  version?: string;
  server?: string;
  binDir?: string;
  restore: MongoRestoreStep[];
}

export interface MongoRestoreStep {
  artefact: string;
  format?: 'auto' | 'archive' | 'directory';
  drop?: boolean;
  nsInclude?: string[];
  nsFrom?: string[];
  nsTo?: string[];
  parallelCollections?: number;
  completeness?: boolean;
  indexes?: boolean;
  extraArgs?: string[];
}

export interface S3Source {
  endpoint: string;
  bucket: string;
  region?: string;
  accessKey?: SecretRef;
  secretKey?: SecretRef;
}

export interface S3StoreSpec extends ContainerStoreOptions {
  engine: 's3';
  version?: string;
  server?: string;
  restore: S3RestoreStep[];
}

export interface S3RestoreStep {
  bucket: string;
  artefact?: string;
  source?: S3Source;
  prefix?: string;
  concurrency?: number;
}

export interface RedisStoreSpec extends ContainerStoreOptions {
  engine: 'redis';
  version?: string;
  server?: string;
  restore: [RedisRestoreStep];
}

export interface RedisRestoreStep {
  artefact: string;
  format?: 'auto' | 'rdb' | 'aof';
}

/** What every engine's restore step has in common: where the bytes come from. */
export type RestoreStepSpec = PostgresRestoreStep | MongoRestoreStep | S3RestoreStep | RedisRestoreStep;

export interface Expectation {
  equals?: number | string | boolean | null;
  min?: number;
  max?: number;
  between?: [number, number];
  notNull?: true;
  matches?: string;
}

interface CheckBase {
  id?: string;
  name?: string;
  store: string;
  database?: string;
  severity?: 'fail' | 'warn';
}

export interface CountCheckSpec extends CheckBase {
  type: 'count';
  table?: string;
  where?: string;
  collection?: string;
  filter?: Record<string, unknown>;
  expect: Expectation;
}
export interface QueryCheckSpec extends CheckBase {
  type: 'query';
  sql?: string;
  collection?: string;
  find?: { filter?: Record<string, unknown>; sort?: Record<string, unknown>; projection?: Record<string, unknown> };
  aggregate?: Record<string, unknown>[];
  field?: string;
  expect: Expectation;
}
export interface BaselineCheckSpec extends CheckBase {
  type: 'baseline';
  baseline: string;
  tolerance?: { absolute?: number; percent?: number };
  extraTables?: 'fail' | 'warn' | 'ignore';
}
export interface SchemaCheckSpec extends CheckBase {
  type: 'schema';
  baseline: string;
}

export interface ObjectsCheckSpec extends CheckBase {
  type: 'objects';
  bucket?: string;
  prefix?: string;
  expect: { count?: Expectation; bytes?: Expectation };
}
export interface ObjectCheckSpec extends CheckBase {
  type: 'object';
  bucket?: string;
  key: string;
  sha256?: string;
  size?: number;
}
export interface KeysCheckSpec extends CheckBase {
  type: 'keys';
  db?: number;
  pattern?: string;
  expect: Expectation;
}
export interface KeyCheckSpec extends CheckBase {
  type: 'key';
  db?: number;
  key: string;
  keyType?: 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream';
  value?: string;
}
export interface InfoCheckSpec extends CheckBase {
  type: 'info';
  section?: string;
  field: string;
  expect: Expectation;
}
export interface ReachabilityCheckSpec {
  type: 'reachability';
  id?: string;
  name?: string;
  severity?: 'fail' | 'warn';
  references: {
    store: string;
    database?: string;
    sql?: string;
    collection?: string;
    field?: string;
    sha256Field?: string;
    sizeField?: string;
    filter?: Record<string, unknown>;
    keyPrefix?: string;
  };
  objects: { store: string; bucket?: string; prefix?: string };
  orphans?: 'fail' | 'warn' | 'ignore';
  sample?: number;
  verifyChecksums?: boolean;
  concurrency?: number;
}

export type StoreCheckSpec = CountCheckSpec | QueryCheckSpec | BaselineCheckSpec | SchemaCheckSpec | ObjectsCheckSpec | ObjectCheckSpec | KeysCheckSpec | KeyCheckSpec | InfoCheckSpec;
export type CheckSpec = StoreCheckSpec | ReachabilityCheckSpec;

/** The stores a check reads; a check is skipped when any of them did not restore. */
export function storesOf(check: CheckSpec): string[] {
  return check.type === 'reachability' ? [...new Set([check.references.store, check.objects.store])] : [check.store];
}
export type CheckType = CheckSpec['type'];

/** A loaded drill: the document plus where it came from, so later errors can point at lines. */
export interface Drill {
  file: string;
  dir: string;
  sha256: string;
  document: DrillDocument;
  /** Source position of a path inside the drill, e.g. ['spec', 'checks', 0]. */
  locate(path: readonly (string | number)[]): { line: number; col: number } | undefined;
}
