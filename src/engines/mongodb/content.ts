// A collection's content digest: sha256 over every document's BSON bytes as the server returns them
// (raw: never decoded and re-encoded, so field order and number types count), in _id order, read in
// cursor batches. The same function runs on the source at capture and on the restored database in the
// baseline check, so equal digests mean equal documents.
import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';

/** `sha256:<hex>` of one collection's documents. */
export async function contentDigest(db: Db, collection: string): Promise<string> {
  const hash = createHash('sha256');
  // Each raw document starts with its own length, so documents cannot run into each other.
  for await (const document of db.collection(collection).find({}, { sort: { _id: 1 }, raw: true }) as AsyncIterable<Uint8Array>) hash.update(document);
  return `sha256:${hash.digest('hex')}`;
}
