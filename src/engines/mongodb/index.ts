import type { Document } from 'mongodb';
import { newMongoClient, pick, withMongo } from './client.ts';
import { compareCounts } from '../../checks/compare-counts.ts';
import { compareContent } from '../../checks/compare-content.ts';
import { contentDigest } from './content.ts';
import { evaluate } from '../../checks/expectations.ts';
import type { CheckContext, CheckRunner } from '../../checks/types.ts';
import { ArtefactError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { inspectLocalArtefact, openArtefact } from '../../sources/local.ts';
import { loadBaselineFile } from '../../drill/baseline.ts';
import type { BaselineCheckSpec, CountCheckSpec, MongoRestoreStep, MongoStoreSpec, QueryCheckSpec } from '../../drill/types.ts';
import type { AutomaticCheck, Engine, ObjectReference, VerifiedArtefact } from '../types.ts';
import { captureMongoBaseline } from './baseline.ts';
import { archiveCompleteness } from './completeness.ts';
import { collectionCount } from './counts.ts';
import { mongoRows } from './rows.ts';
import { validateMongo } from './validate.ts';
import { mongoIntegrity } from './integrity.ts';
import { mongoMutants } from './mutants.ts';
import { runRestoreSteps, type StepOutcome } from '../steps.ts';
import { toolErrorLine, toolStderrTail } from '../../util/tool-output.ts';
import { mongoLocalServer } from './local.ts';
import { mongoContainerServer } from './container.ts';

const archiveMagic = Buffer.from([0x6d, 0xe2, 0x99, 0x81]);

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object' && 'toHexString' in value) return (value as { toHexString(): string }).toHexString();
  if (value && typeof value === 'object' && '_bsontype' in value) return Number(value) || String(value);
  return value ?? null;
}

const count: CheckRunner<CountCheckSpec> = async (check, context) => {
  const whole = !check.filter || Object.keys(check.filter).length === 0;
  const actual = await withMongo(context.store, (c) => {
    const collection = c.db(context.database).collection(check.collection!);
    return whole ? collectionCount(context.store, c, context.database, check.collection!) : collection.countDocuments(check.filter);
  }, context.signal);
  const e = evaluate(check.expect, actual);
  const what = `${context.database}.${check.collection}${check.filter ? ` ${JSON.stringify(check.filter)}` : ''}`;
  return { passed: e.passed, expected: e.expected, actual, message: `${what} has ${actual} documents${e.passed ? '' : `, expected ${e.expected}`}` };
};

const query: CheckRunner<QueryCheckSpec> = async (check, context) => {
  const doc = await withMongo(context.store, async (c) => {
    const collection = c.db(context.database).collection(check.collection!);
    if (check.aggregate) return (await collection.aggregate(check.aggregate, { allowDiskUse: true }).limit(1).toArray())[0] ?? null;
    return collection.findOne(check.find?.filter ?? {}, { ...(check.find?.sort ? { sort: check.find.sort as Document } : {}), ...(check.find?.projection ? { projection: check.find.projection } : {}) });
  }, context.signal);
  const field = check.field ?? Object.keys(doc ?? {}).find((k) => k !== '_id');
  const actual = plain(doc && field ? pick(doc, field) : null);
  const e = evaluate(check.expect, actual);
  return { passed: e.passed, expected: e.expected, actual, message: doc ? `${field} = ${JSON.stringify(actual)}${e.passed ? '' : `: ${e.reason}`}` : `no document matched${e.passed ? '' : `: ${e.reason}`}` };
};

const baseline: CheckRunner<BaselineCheckSpec> = async (check, context) => {
  const file = await loadBaselineFile(check.baseline, context.drill.dir);
  const database = file.content.databases[context.database];
  if (!database) return { passed: false, expected: `baseline of ${context.database}`, actual: null, message: `${check.baseline} holds no database "${context.database}"; set database on the check` };
  const absolute = check.tolerance?.absolute ?? 0;
  const percent = check.tolerance?.percent ?? 0;
  return withMongo(context.store, async (c) => {
    const db = c.db(context.database);
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((x) => x.name).filter((n) => !n.startsWith('system.'));
    const restored: Record<string, number> = {};
    for (const n of names) restored[n] = await collectionCount(context.store, c, context.database, n);
    const counts = compareCounts(database.tables, restored, { absolute, percent, extra: check.extraTables ?? 'warn', capturedAt: file.content.capturedAt, unit: 'collections' });
    return compareContent(counts, database, restored, { wanted: check.content, file: check.baseline, unit: 'collections', digest: (collection) => contentDigest(db, collection), damaged: context.damaged, database: context.database });
  }, context.signal);
};

/** An archive file on this machine reaches mongorestore on stdin: the harness streams (and hashes) every byte of it. */
function archiveOnStdin(a: VerifiedArtefact): boolean {
  return a.format === 'archive' && !a.info.fetchedInPod;
}

/** `path` is where mongorestore sees the artefact (the staged copy on a containers runtime). */
function restoreArgs(store: StartedStore, step: MongoRestoreStep, a: VerifiedArtefact, path = a.info.path): string[] {
  const args = [`--uri=${store.toolUrl()}`];
  if (archiveOnStdin(a)) args.push('--archive');
  else if (a.format === 'archive') args.push(`--archive=${path}`);
  else args.push(`--dir=${path}`);
  if (a.info.compression === 'gzip' || a.format === 'directory-gzip') args.push('--gzip');
  if (step.drop !== false) args.push('--drop');
  for (const ns of step.nsInclude ?? []) args.push(`--nsInclude=${ns}`);
  (step.nsFrom ?? []).forEach((from, i) => args.push(`--nsFrom=${from}`, `--nsTo=${step.nsTo![i]}`));
  if (step.parallelCollections) args.push(`--numParallelCollections=${step.parallelCollections}`);
  if (step.indexes === false) args.push('--noIndexRestore');
  args.push(...(step.extraArgs ?? []));
  return args;
}

export const mongoEngine: Engine<MongoStoreSpec> = {
  name: 'mongodb',
  servers: { local: mongoLocalServer, container: mongoContainerServer },
  capabilities: { formats: ['archive', 'directory'], multipleDatabases: true, restoresBeforeStart: false, checksNameDatabase: true },
  checks: { count, query, baseline, integrity: mongoIntegrity } as Engine['checks'],
  async inspect(spec, step, drillDir, options) {
    const ref = spec.restore[step]!;
    const info = await inspectLocalArtefact(ref.artefact, drillDir, { ...options, directory: true });
    if (info.kind === 'directory') {
      if (ref.format === 'archive') throw new ArtefactError(ref.artefact, 'is a directory; format archive expects a mongodump --archive file');
      return { store: '', step, info, format: 'directory' };
    }
    if (!info.head.subarray(0, 4).equals(archiveMagic)) {
      throw new ArtefactError(ref.artefact, `is not a mongodump archive (magic ${info.head.subarray(0, 4).toString('hex') || 'none'} at offset 0${info.compression === 'gzip' ? ' after gunzip' : ''})`, 'restore a file written by mongodump --archive, or a mongodump directory');
    }
    if (ref.format === 'directory') throw new ArtefactError(ref.artefact, 'is an archive file, not a dump directory');
    return { store: '', step, info, format: 'archive', readByRestore: !info.fetchedInPod };
  },
  describeRestore: (spec, artefacts) => artefacts.map((a) => `mongorestore ${restoreArgs({ toolUrl: () => 'mongodb://127.0.0.1:<port>/' } as StartedStore, spec.restore[a.step]!, a).slice(1).join(' ')}${archiveOnStdin(a) ? ` < ${a.info.path}` : ''}`),
  async restore(store, spec, artefacts, context) {
    return runRestoreSteps(artefacts.map((a) => {
      const step = spec.restore[a.step]!;
      const shown = restoreArgs(store, step, a).map((x) => (x.startsWith('--uri=') ? '--uri=<store>' : x));
      return {
        base: { step: a.step, artefact: step.artefact, format: a.format, tool: 'mongorestore', args: shown },
        title: `mongorestore ${step.artefact}`,
        async run(): Promise<StepOutcome> {
          // An archive streams in as it is (mongorestore undoes --gzip itself); a dump directory is staged where the tool runs.
          const run = archiveOnStdin(a)
            ? await store.exec('mongorestore', restoreArgs(store, step, a), { signal: context.signal, stdin: openArtefact(a.info, { decompress: false }) })
            : await store.exec('mongorestore', restoreArgs(store, step, a, await store.stage(a.info.path, context.signal)), { signal: context.signal });
          // mongorestore can exit 0 with documents that failed to insert; its summary line says so.
          const failedDocs = Number(/(\d+) document\(s\) failed to restore/.exec(run.stderr)?.[1] ?? 0);
          const restoredDocs = Number(/(\d+) document\(s\) restored successfully/.exec(run.stderr)?.[1] ?? 0);
          const ok = run.exitCode === 0 && failedDocs === 0 && !run.inputError;
          return {
            status: ok ? 'passed' : 'failed', exitCode: run.exitCode, stderr: tail(run.stderr), details: { documentsRestored: restoredDocs, documentsFailed: failedDocs },
            ...(run.inputError ? { error: `cannot read ${step.artefact} to the end (${run.inputError}); mongorestore saw only part of it` } : ok ? {} : { error: `mongorestore ${run.exitCode === null ? `was killed by ${run.signal}` : run.exitCode !== 0 ? `exited with code ${run.exitCode}` : `reported ${failedDocs} document(s) failed`} restoring ${step.artefact}: ${lastMeaningful(run.stderr)}` }),
          };
        },
      };
    }), context);
  },
  defaultDatabase: () => 'test',
  plannedFormat: (_name, folder) => (folder ? 'directory' : 'archive'),
  validate: validateMongo,
  rows: mongoRows,
  mutants: mongoMutants,
  // The databases come from the URL, or every one the source lists: a mongorestore step names none.
  baseline: { exampleUrl: 'mongodb://host:27017', databases: () => [], capture: captureMongoBaseline },
  automaticChecks(store, spec, artefacts): AutomaticCheck[] {
    return artefacts
      .filter((a) => a.format === 'archive' && spec.restore[a.step]!.completeness !== false)
      .map((a) => ({
        id: `completeness-${store.name}-${a.step + 1}`,
        name: `${store.name}: every collection of ${spec.restore[a.step]!.artefact} restored with its document count`,
        run: (signal) => archiveCompleteness(store, spec.restore[a.step]!, a, signal),
      }));
  },
  references: {
    issues: (refs) => (refs.collection && refs.field ? [] : [[[], 'a mongodb reference source needs collection and field']]),
    async *streamReferences(store, spec, database, signal) {
      const client = await newMongoClient(store.url(), { serverSelectionTimeoutMS: 5000, directConnection: true }, signal);
      await client.connect();
      try {
        const collection = client.db(database).collection(spec.collection!);
        if ((await collection.estimatedDocumentCount()) > 0 && !(await collection.findOne({ [spec.field!]: { $exists: true } }))) {
          throw new ArtefactError(`${database}.${spec.collection}`, `no document has the field ${spec.field}`, 'check references.field (a dotted path)');
        }
        // Only $match, $unwind and $sort: the stages every MongoDB-compatible server implements.
        // $unwind of a scalar yields it once, so arrays and single keys take the same path.
        const projection: Document = { _id: 0, [spec.field!]: 1 };
        if (spec.sha256Field) projection[spec.sha256Field] = 1;
        if (spec.sizeField) projection[spec.sizeField] = 1;
        const cursor = collection.aggregate(
          [{ $match: spec.filter ?? {} }, { $project: projection }, { $unwind: `$${spec.field}` }, { $sort: { [spec.field!]: 1 } }],
          { allowDiskUse: true, batchSize: 5000 },
        );
        for await (const doc of cursor) {
          signal.throwIfAborted();
          const key = pick(doc, spec.field!);
          if (typeof key !== 'string') continue;
          const ref: ObjectReference = { key };
          const sum = spec.sha256Field ? pick(doc, spec.sha256Field) : undefined;
          if (typeof sum === 'string') ref.sha256 = sum;
          const size = spec.sizeField ? pick(doc, spec.sizeField) : undefined;
          if (size !== undefined && size !== null) ref.size = Number(size);
          yield ref;
        }
      } finally {
        await client.close().catch(() => {});
      }
    },
  },
};

export type { CheckContext };

function tail(stderr: string, lines = 20): string {
  return toolStderrTail(stderr, lines);
}

function lastMeaningful(stderr: string): string {
  return toolErrorLine(stderr, /Failed:|error/i).replace(/^\S+\t/, '');
}
