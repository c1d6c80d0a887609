import type { PostgresStoreSpec } from '../../spec/types.ts';
import type { Engine } from '../types.ts';
import { postgresChecks } from './checks.ts';
import { describePostgresRestore, detectPostgresFormat, restorePostgres } from './restore.ts';

export const postgresEngine: Engine<PostgresStoreSpec> = {
  name: 'postgres',
  capabilities: { formats: ['custom', 'plain', 'dumpall'], multipleDatabases: true },
  checks: postgresChecks as Engine['checks'],
  detectFormat: detectPostgresFormat,
  describeRestore: describePostgresRestore,
  restore: restorePostgres,
  defaultDatabase: (spec) => spec.restore.find((s) => s.database)?.database ?? 'postgres',
};

export { capturePostgresBaseline } from './baseline.ts';
