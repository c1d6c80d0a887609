import type { PostgresStoreSpec } from '../../drill/types.ts';
import type { Engine, ObjectReference } from '../types.ts';
import { connectPostgres } from './connect.ts';
import { quoteIdentifier } from './identifiers.ts';
import { postgresChecks } from './checks.ts';
import { inspectLocalArtefact } from '../../sources/local.ts';
import { customDumpTime, describePostgresRestore, detectPostgresFormat, restorePostgres, restoreStreamsArtefact } from './restore.ts';
import { capturePostgresBaseline } from './baseline.ts';
import { inspectPgbackrest } from './pgbackrest.ts';
import { postgresLocalServer } from './local.ts';
import { postgresContainerServer } from './container.ts';
import { postgresRows } from './rows.ts';
import { postgresMutants } from './mutants.ts';
import { postgresIntegrity } from './integrity.ts';
import { postgresPodFetchIssues, validatePostgres } from './validate.ts';

export const postgresEngine: Engine<PostgresStoreSpec> = {
  name: 'postgres',
  servers: { local: postgresLocalServer, container: postgresContainerServer },
  capabilities: { formats: ['custom', 'plain', 'dumpall', 'pgbackrest'], multipleDatabases: true, restoresBeforeStart: false, checksNameDatabase: true },
  checks: { ...postgresChecks, integrity: postgresIntegrity } as Engine['checks'],
  async inspect(spec, step, drillDir, options) {
    if (spec.restore[step]!.format === 'pgbackrest') {
      // A repository directory, restored into the data dir before the server starts (local runtime).
      const info = await inspectLocalArtefact(spec.restore[step]!.artefact, drillDir, { ...options, directory: true });
      return { store: '', step, info, ...(await inspectPgbackrest(spec.restore[step]!, info)) };
    }
    const info = await inspectLocalArtefact(spec.restore[step]!.artefact, drillDir, options);
    const format = detectPostgresFormat(spec, step, info);
    return { store: '', step, info, format, readByRestore: restoreStreamsArtefact(spec.restore[step]!, format, info), ...customDumpTime(info) };
  },
  describeRestore: describePostgresRestore,
  restore: restorePostgres,
  defaultDatabase: (spec) => spec.restore.find((s) => s.database)?.database ?? 'postgres',
  plannedFormat: (name) => (/\.sql$/.test(name) ? 'plain' : 'custom'),
  validate: validatePostgres,
  podFetchIssues: postgresPodFetchIssues,
  rows: postgresRows,
  mutants: postgresMutants,
  baseline: {
    exampleUrl: 'postgres://user@host:5432/db',
    databases: (spec) => spec.restore.map((s) => s.database).filter((d): d is string => Boolean(d)),
    capture: capturePostgresBaseline,
  },
  references: {
    issues: (refs) => (refs.sql ? [] : [[[], 'a postgres reference source needs sql (returning a column named key)']]),
    async *streamReferences(store, spec, database, signal) {
      const client = await connectPostgres({ ...store.endpoint, database }, `store ${store.name} database ${database}`, signal);
      try {
        await client.query('begin isolation level repeatable read read only');
        const columns = [`refs.key::text as key`];
        if (spec.sha256Field) columns.push(`refs.${quoteIdentifier(spec.sha256Field)}::text as sha256`);
        if (spec.sizeField) columns.push(`refs.${quoteIdentifier(spec.sizeField)}::bigint as size`);
        // COLLATE "C" orders by bytes, which is the order ListObjectsV2 returns keys in.
        const sql = `select ${columns.join(', ')} from (${spec.sql}) as refs where refs.key is not null order by refs.key::text collate "C"`;
        const { default: QueryStream } = await import('pg-query-stream');
        const stream = client.query(new QueryStream(sql, [], { batchSize: 5000 }));
        for await (const row of stream as AsyncIterable<{ key: string; sha256?: string | null; size?: number | string | null }>) {
          signal.throwIfAborted();
          const ref: ObjectReference = { key: row.key };
          if (row.sha256) ref.sha256 = row.sha256;
          if (row.size !== undefined && row.size !== null) ref.size = Number(row.size);
          yield ref;
        }
      } finally {
        await client.end().catch(() => {});
      }
    },
  },
};

export { capturePostgresBaseline };
