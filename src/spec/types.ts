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

export type RuntimeName = 'local';
export type ReportFormat = 'json' | 'junit' | 'markdown' | 'html';

export interface DrillSpec {
  runtime?: RuntimeName;
  stores: Record<string, StoreSpec>;
  checks?: CheckSpec[];
  objectives?: { rto?: string; rpo?: string };
  report?: { dir?: string; formats?: ReportFormat[] };
}

export type SecretRef = { env: string } | { file: string };

export type StoreSpec = PostgresStoreSpec;

export interface PostgresStoreSpec {
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
  table: string;
  where?: string;
  expect: Expectation;
}
export interface QueryCheckSpec extends CheckBase {
  type: 'query';
  sql: string;
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

export type CheckSpec = CountCheckSpec | QueryCheckSpec | BaselineCheckSpec | SchemaCheckSpec;
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
