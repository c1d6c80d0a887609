// The drill's types. Its shape is written once, in the schema (src/drill/schema.base.json and each
// engine's src/engines/<name>/schema.json); `npm run generate` turns it into types.generated.ts.
// This module names the parts the code reads and says what the run changes: staged artefacts.
import type * as Schema from './types.generated.ts';

/** The drill as written (after interpolation and schema validation), its stores as the engines see them. */
export type DrillDocument = Omit<Schema.DrillDocument, 'spec'> & { spec: DrillSpec };
export type DrillMetadata = Schema.DrillDocument['metadata'];
export type DrillSpec = Omit<Schema.DrillDocument['spec'], 'stores' | 'checks'> & { stores: Record<string, StoreSpec>; checks?: CheckSpec[] };

/** What a drill or the CLI may ask for: a runtime, or `auto` (containers when a Docker engine answers, else local). */
export type RuntimeChoice = NonNullable<DrillSpec['runtime']>;
/** Where stores run. */
export type RuntimeName = Exclude<RuntimeChoice, 'auto'>;
export type ReportFormat = NonNullable<NonNullable<DrillSpec['report']>['formats']>[number];

/**
 * By default a run is cut off from everything outside it (containers: an internal network;
 * kubernetes: default-deny NetworkPolicies). `egress: true` lets its stores and app reach any address.
 */
export type NetworkSpec = NonNullable<DrillSpec['network']>;

export type SecretRef = Schema.SecretRef;
/** An env value: literal text (with `${stores.<name>.<field>}` and `${app.port}` placeholders), or a secret. */
export type AppEnvValue = Schema.AppEnv[string];
/** `command` may be left out when `image` is given (the image's own command runs); `local` needs it. */
export type AppSpec = Schema.App;
export type AppCommandSpec = Omit<NonNullable<AppSpec['migrate']>, 'timeout'>;

/** A backup that is not a plain local path: where it lives, how to pick it, how to check, decrypt and unpack it. */
export type ArtefactSourceSpec = Schema.ArtefactSource;
export type ArtefactSelectSpec = NonNullable<ArtefactSourceSpec['select']>;
type DecryptSpec = NonNullable<ArtefactSourceSpec['decrypt']>;
/** An age file: an X25519 identity (the identity file's content) or a passphrase; exactly one. */
export type AgeDecryptSpec = NonNullable<DecryptSpec['age']>;
export type OpensslDecryptSpec = NonNullable<DecryptSpec['openssl']>;
export type UnpackSpec = NonNullable<ArtefactSourceSpec['unpack']>;

/**
 * A step as the engines see it: the fetch phase (src/sources) stages an artefact source and the
 * step's `artefact` is the local path it produced.
 */
type Staged<Step> = Step extends { artefact: unknown } ? Omit<Step, 'artefact'> & { artefact: string } : Step extends { artefact?: unknown } ? Omit<Step, 'artefact'> & { artefact?: string } : Step;
type StagedStore<Store> = Store extends { restore: (infer Step)[] } ? Omit<Store, 'restore'> & { restore: Staged<Step>[] } : never;

/**
 * A store as the engines see it: each engine's schema fragment, with staged artefacts. Runtimes
 * read the container options of any store; an engine whose schema has none has none set.
 */
export type StoreSpec = StagedStore<Schema.Store> & ContainerStoreOptions;
export type EngineName = StoreSpec['engine'];
/** One engine's store; an engine folder types itself with it (`Engine<StoreSpecOf<'name'>>`), no alias needed here. */
export type StoreSpecOf<E extends EngineName> = Extract<StoreSpec, { engine: E }>;
export type PostgresStoreSpec = StagedStore<Schema.PostgresStore>;
export type MongoStoreSpec = StagedStore<Schema.MongodbStore>;
export type S3StoreSpec = StagedStore<Schema.S3Store>;
export type RedisStoreSpec = StagedStore<Schema.RedisStore>;
export type InfluxStoreSpec = StagedStore<Schema.InfluxdbStore>;
export type PostgresRestoreStep = PostgresStoreSpec['restore'][number];
export type MongoRestoreStep = MongoStoreSpec['restore'][number];
export type S3RestoreStep = S3StoreSpec['restore'][number];
export type RedisRestoreStep = RedisStoreSpec['restore'][number];
export type InfluxRestoreStep = InfluxStoreSpec['restore'][number];
export type PostgresFormat = NonNullable<PostgresRestoreStep['format']>;
export type S3Source = Schema.S3Source;
/** What every engine's restore step has in common: where the bytes come from. */
export type RestoreStepSpec = StoreSpec['restore'][number];

/** containers runtime: the image a store runs and its limits. Ignored by the local runtime. */
export type ContainerStoreOptions = Partial<Pick<Schema.PostgresStore, 'image' | 'resources' | 'kubernetes'>>;
/** kubernetes runtime: pod settings of one store. */
export type KubernetesStoreOptions = Schema.KubernetesOptions;

export type Expectation = Schema.Expectation;
export type JsonFieldExpectation = Schema.JsonFieldExpectation;
export type CountCheckSpec = Schema.CountCheck;
export type QueryCheckSpec = Schema.QueryCheck;
export type BaselineCheckSpec = Schema.BaselineCheck;
export type SchemaCheckSpec = Schema.SchemaCheck;
export type ObjectsCheckSpec = Schema.ObjectsCheck;
export type ObjectCheckSpec = Schema.ObjectCheck;
export type KeysCheckSpec = Schema.KeysCheck;
export type KeyCheckSpec = Schema.KeyCheck;
export type InfoCheckSpec = Schema.InfoCheck;
export type ReachabilityCheckSpec = Schema.ReachabilityCheck;
export type HttpCheckSpec = Schema.HttpCheck;
export type AuditChainCheckSpec = Schema.AuditChainCheck;
/** How values are written into an audit-chain MAC input. */
export type AuditChainFormat = NonNullable<AuditChainCheckSpec['format']>;
export type DecryptCheckSpec = Schema.DecryptCheck;
export type SecretKeySpec = Pick<DecryptCheckSpec, 'key' | 'keyEncoding'>;
export type PointsCheckSpec = Schema.PointsCheck;
export type FreshnessCheckSpec = Schema.FreshnessCheck;
export type IntegrityCheckSpec = Schema.IntegrityCheck;

/** A store check whose schema has no `database` has none: the run reads `database` of any store check. */
type StoreCheck<C> = C extends { database?: unknown } ? C : C & { database?: never };
export type StoreCheckSpec = StoreCheck<Exclude<Schema.Check, Schema.ReachabilityCheck | Schema.HttpCheck>>;
export type CheckSpec = StoreCheckSpec | ReachabilityCheckSpec | HttpCheckSpec;
export type CheckType = CheckSpec['type'];

/** The stores a check reads; a check is skipped when any of them did not restore. */
export function storesOf(check: CheckSpec): string[] {
  if (check.type === 'http') return [];
  return check.type === 'reachability' ? [...new Set([check.references.store, check.objects.store])] : [check.store];
}

/** A loaded drill: the document plus where it came from, so later errors can point at lines. */
export interface Drill {
  file: string;
  dir: string;
  sha256: string;
  document: DrillDocument;
  /** Source position of a path inside the drill, e.g. ['spec', 'checks', 0]. */
  locate(path: readonly (string | number)[]): { line: number; col: number } | undefined;
  /** Stores whose drill named the engine by an alias: store name to the name the drill used (spec.stores holds the engine's own). */
  requestedEngines?: Readonly<Record<string, string>>;
}
