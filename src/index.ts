/** restoreproof's library API; the CLI is a thin layer over it. */
export { loadDrill, parseDrill, validateDrill, drillSchemaPath } from './drill/load.ts';
export { runDrill, mutateDrill, type RunOptions } from './run/run.ts';
export { scoreLine, survivorLine } from './mutate/score.ts';
export { planDrill } from './run/plan.ts';
export { verifyEvidence, verifyRun, type VerifyEvidenceOptions, type VerifyResult, type VerifyLine } from './evidence/verify.ts';
export { capturePostgresBaseline } from './engines/postgres/index.ts';
export { engines } from './engines/index.ts';
export { runtimes } from './runtimes/index.ts';
export { consoleReporter } from './report/console.ts';
export { preferSmallHeap } from './util/heap.ts';
export { useCompileCache } from './util/compile-cache.ts';
export { inventory, renderInventory, inventoryMongoArchive, inventoryPgDump, inventoryBucketMirror, type Inventory } from './inventory/index.ts';
export type { MongoArchiveInventory, PgDumpInventory, BucketMirrorInventory } from './inventory/index.ts';
export * from './errors.ts';
export type { Drill, DrillDocument, CheckSpec, StoreSpec } from './drill/types.ts';
export type { RunReport, Reporter, RunStatus, MutationRecord, MutantRecord } from './report/types.ts';
export type { CheckResult } from './checks/types.ts';
export type { BaselineFile } from './drill/baseline.ts';
