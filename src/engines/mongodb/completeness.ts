import { inventoryMongoArchive } from '../../inventory/mongo-archive.ts';
import type { CheckOutcome } from '../../checks/types.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import type { MongoRestoreStep } from '../../drill/types.ts';
import type { VerifiedArtefact } from '../types.ts';
import { withMongo } from './client.ts';
import { collectionCount } from './counts.ts';
import { compareCounts } from '../../checks/compare-counts.ts';

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** mongorestore namespace patterns: `*` matches anything; `$name$` captures in nsFrom and substitutes in nsTo. */
export function namespaceMapper(step: Pick<MongoRestoreStep, 'nsInclude' | 'nsFrom' | 'nsTo'>): (ns: string) => string | undefined {
  const includes = (step.nsInclude ?? []).map((p) => new RegExp(`^${escape(p).replace(/\\\*/g, '.*').replace(/\*/g, '.*')}$`));
  const renames = (step.nsFrom ?? []).map((from, i) => {
    const names: string[] = [];
    const source = escape(from).replace(/\\\$(\w+)\\\$/g, (_m, name: string) => (names.push(name), '(.*?)')).replace(/\*/g, '.*');
    return { re: new RegExp(`^${source}$`), names, to: step.nsTo![i]! };
  });
  return (ns) => {
    if (includes.length && !includes.some((re) => re.test(ns))) return undefined;
    for (const r of renames) {
      const m = r.re.exec(ns);
      if (m) return r.names.reduce((to, name, i) => to.replaceAll(`$${name}$`, m[i + 1] ?? ''), r.to);
    }
    return ns;
  };
}

/** Every collection the archive holds is in the target with exactly the archive's document count. */
export async function archiveCompleteness(store: StartedStore, step: MongoRestoreStep, artefact: VerifiedArtefact, signal?: AbortSignal): Promise<CheckOutcome> {
  const inventory = await inventoryMongoArchive(artefact.info.path);
  const map = namespaceMapper(step);
  const expected: Record<string, number> = {};
  for (const db of inventory.databases) {
    for (const c of db.collections) {
      if (c.type || c.name.startsWith('system.')) continue; // views and time series have no documents of their own
      const target = map(`${db.name}.${c.name}`);
      if (target) expected[target] = c.documents;
    }
  }
  const restored = await withMongo(store, async (client) => {
    const counts: Record<string, number> = {};
    for (const ns of Object.keys(expected)) {
      const dot = ns.indexOf('.');
      const [db, coll] = [ns.slice(0, dot), ns.slice(dot + 1)];
      const exists = (await client.db(db).listCollections({ name: coll }, { nameOnly: true }).toArray()).length > 0;
      if (exists) counts[ns] = await collectionCount(store, client, db, coll);
    }
    return counts;
  }, signal);
  const outcome = compareCounts(expected, restored, { extra: 'ignore', unit: 'collections' });
  return {
    ...outcome,
    expected: `${Object.keys(expected).length} collections with the counts the archive holds (${inventory.totals.documents} documents; mongodump ${inventory.toolVersion}, server ${inventory.serverVersion})`,
    details: { archive: { path: artefact.info.path, sha256: artefact.info.sha256, collections: inventory.totals.collections, documents: inventory.totals.documents } },
  };
}
