import type { MongoClient } from 'mongodb';
import type { StartedStore } from '../../runtimes/types.ts';
import { countOnce } from '../counts.ts';

/**
 * Whether the server's metadata count of a collection is exact in this store. mongod keeps each
 * collection's document count in its catalogue and updates it with every write; it is off only after
 * an unclean shutdown or, on a sharded cluster, by orphaned documents. A store here is a standalone
 * server the run started empty and filled with mongorestore (the engine restores nothing else), so
 * neither applies. FerretDB (the test bed's stand-in) counts by scanning in every form, so there the
 * exact `countDocuments` is kept.
 */
export function metadataCountIsExact(store: StartedStore): boolean {
  return !/FerretDB/.test(store.version);
}

/** A collection's whole document count, read from the server once per run: the catalogue's where it is exact, else a counting scan. */
export function collectionCount(store: StartedStore, client: MongoClient, database: string, collection: string): Promise<number> {
  const c = client.db(database).collection(collection);
  return countOnce(store, `${database}\u0000${collection}`, () => (metadataCountIsExact(store) ? c.estimatedDocumentCount() : c.countDocuments({})));
}
