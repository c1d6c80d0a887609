import type { StoreSpecOf } from '../../drill/types.ts';
import { inspectLocalArtefact } from '../../sources/local.ts';
import type { Engine } from '../types.ts';
import { mariadbChecks } from './checks.ts';
import { describeMariadbRestore, inspectMariadbArtefact, restoreMariadb } from './restore.ts';
import { mariadbLocalServer } from './local.ts';
import { mariadbContainerServer } from './container.ts';
import { validateMariadb } from './validate.ts';
import { captureMariadbBaseline } from './baseline.ts';
import { mariadbReferences } from './references.ts';
import { mariadbRows } from './rows.ts';
import { mariadbMutants } from './mutants.ts';
import { mariadbIntegrity } from './integrity.ts';
import { physicalFormat } from './physical.ts';

export const mariadbEngine: Engine<StoreSpecOf<'mariadb'>> = {
  name: 'mariadb',
  servers: { local: mariadbLocalServer, container: mariadbContainerServer },
  capabilities: { formats: ['sql', 'physical'], multipleDatabases: true, restoresBeforeStart: false, checksNameDatabase: true },
  checks: { ...mariadbChecks, integrity: mariadbIntegrity } as Engine['checks'],
  validate: validateMariadb,
  async inspect(spec, step, drillDir, options) {
    const ref = spec.restore[step]!;
    const info = await inspectLocalArtefact(ref.artefact, drillDir, { ...options, directory: true });
    // Binlogs replayed to a target: the data's point in time is the target, not the base backup's.
    const pointInTime = ref.target && ref.binlogs ? { pointInTime: { at: new Date(ref.target).toISOString(), source: 'the point-in-time recovery target' } } : {};
    const format = await inspectMariadbArtefact(ref, info);
    // A dump streams through the client's stdin; a physical backup is copied or extracted at provision.
    return { store: '', step, info, format, readByRestore: !physicalFormat.test(format) && !info.fetchedInPod, ...pointInTime };
  },
  describeRestore: describeMariadbRestore,
  restore: restoreMariadb,
  defaultDatabase: (spec) => spec.restore.find((s) => s.database)?.database ?? '',
  plannedFormat: () => 'sql',
  references: mariadbReferences,
  rows: mariadbRows,
  mutants: mariadbMutants,
  baseline: { exampleUrl: 'mysql://user@host:3306/db', databases: (spec) => spec.restore.flatMap((s) => (s.database ? [s.database] : [])), capture: captureMariadbBaseline },
};
