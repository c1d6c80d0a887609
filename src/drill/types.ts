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
export type RuntimeName = 'local' | 'containers' | 'kubernetes';
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
  /** The application under test, started against the restored stores after the restore. */
  app?: AppSpec;
  /** What the run's stores and app may reach. */
  network?: NetworkSpec;
}

/**
 * By default a run is cut off from everything outside it (containers: an internal network;
 * kubernetes: default-deny NetworkPolicies). `egress: true` lets its stores and app reach any address.
 * The local runtime isolates nothing (servers are processes of this machine).
 */
export interface NetworkSpec {
  egress?: boolean;
}

/** An env value: literal text (with `${stores.<name>.<field>}` and `${app.port}` placeholders), or a secret. */
export type AppEnvValue = string | SecretRef;

export interface AppCommandSpec {
  /** argv; no shell. A first element containing a slash is relative to the drill's directory. */
  command: string[];
  /** Working directory, relative to the drill's directory (default: the drill's directory). On `containers`, copied into the container as its working directory. */
  cwd?: string;
  env?: Record<string, AppEnvValue>;
  /** `containers`: the image it runs in (a migration defaults to the app's image). */
  image?: string;
}

/** `command` may be left out when `image` is given (the image's own command runs); `local` needs it. */
export interface AppSpec extends Omit<AppCommandSpec, 'command'> {
  command?: string[];
  /** Port the app listens on; default: a free loopback port, passed as PORT and `${app.port}`. */
  port?: number;
  /** How long the app may take to accept TCP connections on its port (default 2m). */
  startTimeout?: string;
  /** Run once against the restored stores before the app starts (e.g. the app's migrations); recorded as a check. */
  migrate?: AppCommandSpec & { timeout?: string };
}

export type SecretRef = { env: string } | { file: string } | { kubernetesSecret: { name: string; key: string; namespace?: string } };

/**
 * A backup that is not a plain local path: where it lives, how to pick it, how to check, decrypt
 * and unpack it. The fetch phase (src/sources) stages it and replaces the step's `artefact` by
 * the local path it produced, so engines only ever see a string.
 */
export interface ArtefactSourceSpec {
  /** A local path (relative to the drill), `s3://bucket/prefix` or `sftp://user@host:port/path`. */
  source: string;
  select?: ArtefactSelectSpec;
  /** Expected sha256: hex from the drill, a `<file>.sha256` / `SHA256SUMS` sidecar, or a named sums file. */
  sha256?: string | { sidecar: true } | { sums: string };
  size?: number;
  /** Exactly one of them. */
  decrypt?: { openssl: OpensslDecryptSpec; age?: never } | { age: AgeDecryptSpec; openssl?: never };
  unpack?: UnpackSpec;
  s3?: { endpoint?: string; region?: string; accessKey?: SecretRef; secretKey?: SecretRef };
  /**
   * Who downloads it: the harness (default: it verifies, decrypts and unpacks, then streams the file
   * to the store) or the store's pod itself (kubernetes runtime, S3 sources, through an init container
   * and a presigned URL, so the bytes never pass through the harness).
   */
  fetch?: 'harness' | 'pod';
  ssh?: { knownHosts: string; key?: SecretRef; passphrase?: SecretRef; password?: SecretRef };
}

export interface ArtefactSelectSpec {
  /** The newest match of a pattern like `{date:YYYY-MM-DD}/pg_backup_{date}.tar.gz.enc`. */
  latest?: string;
  /** `date` (from the pattern's {date:...}, the default when it has one) or `mtime`. */
  by?: 'date' | 'mtime';
  explicit?: string;
  'random-within'?: string;
  /** For random-within: which objects are candidates. */
  pattern?: string;
  seed?: string;
}

/** An age file: an X25519 identity (the identity file's content) or a passphrase; exactly one. */
export type AgeDecryptSpec = { identity: SecretRef; passphrase?: never } | { passphrase: SecretRef; identity?: never };

export interface OpensslDecryptSpec {
  passphrase: SecretRef;
  /** pbkdf2 (`openssl enc -pbkdf2 -iter N`) or legacy (EVP_BytesToKey, one iteration, what `openssl enc` does without -pbkdf2). */
  kdf?: 'pbkdf2' | 'legacy';
  /** PBKDF2 iterations; openssl's default is 10000. */
  iterations?: number;
  /** `openssl enc -md`: sha256 since OpenSSL 1.1.0, md5 before. */
  digest?: 'sha256' | 'sha1' | 'sha512' | 'md5';
  cipher?: 'aes-256-cbc';
}

export interface UnpackSpec {
  tar?: boolean;
  /** The file or directory inside the unpacked tree the engine restores. */
  member?: string;
  /** A JSON manifest inside the bundle listing every file's sha256. */
  manifest?: string;
  /** A `sha256sum` file inside the bundle. */
  sums?: string;
  maxBytes?: number | string;
  maxEntries?: number;
}

export type StoreSpec = PostgresStoreSpec | MongoStoreSpec | S3StoreSpec | RedisStoreSpec | InfluxStoreSpec;

/** containers runtime: the image a store runs and its limits. Ignored by the local runtime. */
export interface ContainerStoreOptions {
  /** Image of the store's container; `{version}` is replaced by the store's version. */
  image?: string;
  resources?: { cpus?: number; memory?: string };
  /** kubernetes runtime: how the store's pod is scheduled and pulled. */
  kubernetes?: KubernetesStoreOptions;
}

/** kubernetes runtime: pod settings of one store. `resources` here wins over the portable `resources` (cpus, memory as limits). */
export interface KubernetesStoreOptions {
  imagePullSecrets?: string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: 'Exists' | 'Equal'; value?: string; effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute'; tolerationSeconds?: number }[];
}
export type EngineName = StoreSpec['engine'];

export interface PostgresStoreSpec extends ContainerStoreOptions {
  engine: 'postgres';
  version?: string;
  binDir?: string;
  restore: PostgresRestoreStep[];
}

export type PostgresFormat = 'auto' | 'custom' | 'plain' | 'dumpall' | 'pgbackrest';

export interface PostgresRestoreStep {
  /** A local path. A drill may write an ArtefactSourceSpec instead; the fetch phase turns it into the staged path. */
  artefact: string;
  format?: PostgresFormat;
  compression?: 'auto' | 'none' | 'gzip';
  database?: string;
  jobs?: number;
  exitOnError?: boolean;
  extraArgs?: string[];
  roles?: string[];
  /** pgbackrest: the stanza in the repository (`artefact` is the repository directory, repo1-path). */
  stanza?: string;
  /** pgbackrest: recover to this timestamp (PITR, `--type=time`); default: the latest archived WAL. */
  target?: string;
  /** pgbackrest: the backup set label to restore (default: the newest, or the newest before target). */
  set?: string;
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

export interface InfluxStoreSpec extends ContainerStoreOptions {
  engine: 'influxdb';
  version?: string;
  /** local runtime: the influxd binary (default: $RESTOREPROOF_INFLUXD, then influxd on PATH). */
  server?: string;
  restore: InfluxRestoreStep[];
}

export interface InfluxRestoreStep {
  /** A portable backup directory (`influxd backup -portable`). */
  artefact: string;
  /** Restore only this database (`-db`); default: every database in the backup. */
  database?: string;
  /** Restore `database` under this name (`-newdb`). */
  newDatabase?: string;
}

/** What every engine's restore step has in common: where the bytes come from. */
export type RestoreStepSpec = PostgresRestoreStep | MongoRestoreStep | S3RestoreStep | RedisRestoreStep | InfluxRestoreStep;

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

/** A JSON field expectation of an http check. */
export interface JsonFieldExpectation {
  equals?: string | number | boolean | null;
  matches?: string;
  exists?: boolean;
}

export interface HttpCheckSpec {
  type: 'http';
  id?: string;
  name?: string;
  severity?: 'fail' | 'warn';
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  /** Relative to the app (`spec.app`). */
  path?: string;
  /** Absolute URL; instead of path. */
  url?: string;
  headers?: Record<string, string | SecretRef>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Per request (default 10s). */
  timeout?: string;
  expect?: {
    /** Default: 200-299. */
    status?: number | number[];
    /** Dotted paths (`a.b.0.c`) into the JSON body. */
    json?: Record<string, JsonFieldExpectation>;
    /** Upper bound on the response time, e.g. 500ms. */
    latency?: string;
    /** A regular expression the body text must match. */
    body?: string;
  };
  /** Try again until the expectations hold or the deadline passes (readiness). */
  retry?: { until: string; interval?: string };
}

/** How values are written into an audit-chain MAC input. */
export interface AuditChainFormat {
  /** iso (JavaScript toISOString, ms), epochSeconds, epochMillis, or text (the server's text, UTC). Default iso. */
  timestamp?: 'iso' | 'epochSeconds' | 'epochMillis' | 'text';
  /** What a null becomes in a template (default: empty string); in canonical JSON a null stays null unless set. */
  null?: string;
  /** Canonical JSON only: numbers as JSON numbers (default) or as strings. */
  numbers?: 'json' | 'text';
}

export interface AuditChainCheckSpec extends CheckBase {
  type: 'auditChain';
  /** postgres: table (`schema.table`). */
  table?: string;
  /** mongodb: collection. */
  collection?: string;
  /** Ordering column / field; the chain runs in ascending order of it. */
  orderBy: string;
  /** Column holding each row's MAC. */
  macColumn: string;
  /** Column holding the previous row's MAC, when the chain stores it. */
  linkColumn?: string;
  algorithm: 'HMAC-SHA256' | 'HMAC-SHA512';
  key: SecretRef;
  /** How the key's text becomes bytes (default utf8). */
  keyEncoding?: 'utf8' | 'hex' | 'base64';
  /** Encoding of the MAC as stored (and of {prev}). Default hex. */
  encoding?: 'hex' | 'base64';
  /** Either a template (`{prev}|{id}|{actor}`) or canonical JSON (RFC 8785) of fields, with the previous MAC prepended. */
  input: { template: string; fields?: string[] } | { canonicalJson: string[]; separator?: string };
  /** The previous MAC of the first row (default: empty string). */
  genesis?: string;
  format?: AuditChainFormat;
  /** Rows that are retired and not part of the chain. `equals` omitted: rows where the column is not null. */
  exclude?: { column: string; equals?: string | number | boolean };
}

export interface SecretKeySpec {
  key: SecretRef;
  /** How the key's text becomes bytes (default base64). */
  keyEncoding?: 'hex' | 'base64';
}

export interface DecryptCheckSpec extends CheckBase, SecretKeySpec {
  type: 'decrypt';
  table?: string;
  collection?: string;
  column: string;
  /**
   * aes-256-gcm: nonce(12) | ciphertext | tag(16), 32-byte key.
   * aes-256-cbc-hmac-sha256: iv(16) | ciphertext (PKCS#7) | HMAC-SHA256(macKey, iv | ciphertext)(32), 64-byte key = encKey(32) | macKey(32).
   */
  cipher: 'aes-256-gcm' | 'aes-256-cbc-hmac-sha256';
  /** How the stored value is encoded (default base64; bytea columns and BSON binary are raw). */
  encoding?: 'base64' | 'hex' | 'raw';
  /** Rows sampled (default 20). */
  sample?: number;
}

/** InfluxDB: points (the default) or series of one measurement. */
export interface PointsCheckSpec extends CheckBase {
  type: 'points';
  measurement: string;
  count?: 'points' | 'series';
  expect: Expectation;
}

export interface FreshnessCheckSpec extends CheckBase {
  type: 'freshness';
  table?: string;
  collection?: string;
  column: string;
  /** Newest row within this of the backup's point in time; default spec.objectives.rpo. */
  maxAge?: string;
}

export type StoreCheckSpec = CountCheckSpec | QueryCheckSpec | BaselineCheckSpec | SchemaCheckSpec | ObjectsCheckSpec | ObjectCheckSpec | KeysCheckSpec | KeyCheckSpec | InfoCheckSpec | AuditChainCheckSpec | DecryptCheckSpec | FreshnessCheckSpec | PointsCheckSpec;
export type CheckSpec = StoreCheckSpec | ReachabilityCheckSpec | HttpCheckSpec;

/** The stores a check reads; a check is skipped when any of them did not restore. */
export function storesOf(check: CheckSpec): string[] {
  if (check.type === 'http') return [];
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
