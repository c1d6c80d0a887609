import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { deserialize } from 'bson';

const terminator = 0xffffffff;

/**
 * Rewrites a mongodump archive without the data blocks of one collection (its metadata stays in
 * the prelude): what a dump cut short for one collection looks like. Test-only.
 */
export async function dropCollectionData(input: string, output: string, db: string, collection: string): Promise<void> {
  let data = await readFile(input);
  const gzip = data[0] === 0x1f && data[1] === 0x8b;
  if (gzip) data = gunzipSync(data);
  const out: Buffer[] = [data.subarray(0, 4)];
  let offset = 4;
  const docLength = () => data.readInt32LE(offset);
  // header document
  out.push(data.subarray(offset, offset + docLength()));
  offset += docLength();
  let first = true;
  while (offset < data.length) {
    const start = offset;
    let header: { db?: string; collection?: string } | undefined;
    while (data.readUInt32LE(offset) !== terminator) {
      const len = docLength();
      if (!first && !header) header = deserialize(data.subarray(offset, offset + len)) as { db?: string; collection?: string };
      offset += len;
    }
    offset += 4;
    const drop = !first && header?.db === db && header?.collection === collection;
    if (!drop) out.push(data.subarray(start, offset));
    first = false;
  }
  const result = Buffer.concat(out);
  await writeFile(output, gzip ? gzipSync(result) : result);
}
