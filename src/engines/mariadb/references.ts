// Reachability references: the rows a drill's `sql` returns (column `key`, optional checksum and size
// columns), streamed in UTF-8 byte order of key, the order ListObjectsV2 lists keys in.
import type { ObjectReference, ReferenceSource } from '../types.ts';
import { connectMariadb, quoteIdent } from './client.ts';
import { streamQuery } from './stream.ts';

/** A checksum column may hold hex text or the 32 raw bytes (BINARY(32)). */
function checksumText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Buffer.isBuffer(value)) return value.length === 32 ? value.toString('hex') : value.toString('utf8');
  return String(value);
}

export const mariadbReferences: ReferenceSource = {
  issues: (refs) => (refs.sql ? [] : [[[], 'a mariadb reference source needs sql (returning a column named key: SELECT path AS `key` …)']]),
  async *streamReferences(store, spec, database, signal) {
    const connection = await connectMariadb(store.endpoint, `store ${store.name} database ${database}`, database || undefined);
    await connection.query('START TRANSACTION READ ONLY').catch(async (err: unknown) => {
      await connection.end().catch(() => {});
      throw err;
    });
    // As utf8mb4 text; ordered by its bytes (VARBINARY compares every byte, no collation, no padding),
    // which for UTF-8 is code point order: never the column's own, often case-insensitive, collation.
    const key = 'CONVERT(refs.`key` USING utf8mb4)';
    const columns = [`${key} AS k`, spec.sha256Field ? `refs.${quoteIdent(spec.sha256Field)}` : 'NULL', spec.sizeField ? `CAST(refs.${quoteIdent(spec.sizeField)} AS SIGNED)` : 'NULL'];
    const sql = `SELECT ${columns.join(', ')} FROM (${spec.sql}) AS refs WHERE refs.\`key\` IS NOT NULL ORDER BY CAST(${key} AS BINARY)`;
    const query = streamQuery(connection, { sql }, signal);
    try {
      for await (const [k, sha, size] of query.rows) {
        const ref: ObjectReference = { key: Buffer.isBuffer(k) ? k.toString('utf8') : String(k) };
        const sha256 = checksumText(sha);
        if (sha256) ref.sha256 = sha256;
        if (size !== null && size !== undefined) ref.size = Number(size);
        yield ref;
      }
    } finally {
      await query.close();
    }
  },
};
