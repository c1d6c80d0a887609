import type { Document } from 'mongodb';
import type { StartedStore } from '../../runtimes/types.ts';
import { MissingColumnError, nullCell, type CellValue, type RowRequest, type RowSource, type RowStream } from '../rows.ts';
import { newMongoClient, pick } from './client.ts';

/** A Date as PostgreSQL prints a UTC timestamptz (ms precision). */
function dateText(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '+00');
}

export function mongoCell(value: unknown): CellValue {
  if (value === null || value === undefined) return nullCell;
  if (typeof value === 'string') return { kind: 'text', text: value };
  if (typeof value === 'number') return { kind: 'number', text: String(value) };
  if (typeof value === 'boolean') return { kind: 'boolean', text: value ? 'true' : 'false' };
  if (value instanceof Date) return { kind: 'timestamp', text: dateText(value) };
  const bson = (value as { _bsontype?: string })._bsontype;
  if (bson === 'ObjectId') return { kind: 'text', text: (value as { toHexString(): string }).toHexString() };
  if (bson === 'Long' || bson === 'Decimal128' || bson === 'Int32' || bson === 'Double') return { kind: 'number', text: String(value) };
  if (bson === 'Binary') return { kind: 'bytes', text: Buffer.from((value as { buffer: Uint8Array }).buffer).toString('hex') };
  return { kind: 'text', text: JSON.stringify(value) };
}

async function streamMongo(store: StartedStore, request: RowRequest): Promise<RowStream> {
  const client = await newMongoClient(store.url(), { serverSelectionTimeoutMS: 5000, directConnection: true }, request.signal);
  await client.connect();
  try {
    const collection = client.db(request.database).collection(request.relation);
    const projection: Document = { _id: 0 };
    for (const c of request.columns) projection[c] = 1;
    if (request.columns.includes('_id')) projection._id = 1;
    // A field every document lacks is a missing column; the first document decides.
    const first = await collection.findOne({}, { projection });
    if (first) {
      const missing = request.columns.filter((c) => pick(first, c) === undefined);
      if (missing.length) throw new MissingColumnError(`collection ${request.database}.${request.relation} (first document)`, missing);
    }
    let cursor;
    if (request.sample) {
      cursor = collection.aggregate([{ $match: { [request.columns[0]!]: { $ne: null } } }, { $sample: { size: request.limit ?? 20 } }, { $project: projection }]);
    } else {
      cursor = collection.find({}, { projection, batchSize: 5000 });
      if (request.orderBy) cursor = cursor.sort({ [request.orderBy]: request.descending ? -1 : 1 });
      if (request.limit !== undefined) cursor = cursor.limit(request.limit);
    }
    const columns = request.columns;
    return {
      columns,
      rows: (async function* () {
        for await (const doc of cursor) yield columns.map((c) => mongoCell(pick(doc, c)));
      })(),
      close: () => client.close().catch(() => {}),
    };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}

/** Values become the text PostgreSQL would print for them, so checks format both engines alike. */
export const mongoRows: RowSource = {
  relation: 'collection',
  describe: (database, collection) => `${database}.${collection}`,
  stream: streamMongo,
};
