import type { MongoClient } from 'mongodb';
import type { StartedStore } from '../../runtimes/types.ts';
import { countOnce } from '../counts.ts';

/** A collection's whole document count, read from the server once per run (countDocuments: exact, never the metadata estimate). */
export function collectionCount(store: StartedStore, client: MongoClient, database: string, collection: string): Promise<number> {
  return countOnce(store, `${database}\u0000${collection}`, () => client.db(database).collection(collection).countDocuments({}));
}
