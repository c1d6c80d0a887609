import type { BaselineFile } from '../../drill/baseline.ts';
import { toolVersion } from '../../version.ts';
import { connectPostgres, readOnly } from './connect.ts';
import { contentDigests } from './content.ts';
import { countTables, listTables, schemaFingerprint } from './introspect.ts';

export interface CapturePostgresOptions {
  /** libpq-style URL; a password in it is accepted but PGPASSWORD or `password` is better. */
  connectionString: string;
  password?: string;
  /** Databases to capture; defaults to the one in the URL. */
  databases?: string[];
  /** Also each table's content digest, in the same snapshot. */
  content?: boolean;
}

/** Reads table counts, the schema fingerprint and (content) the rows' digests from a live source, one read-only snapshot per database. */
export async function capturePostgresBaseline(options: CapturePostgresOptions): Promise<BaselineFile> {
  const url = new URL(options.connectionString);
  const defaultDb = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  const databases = options.databases?.length ? options.databases : [defaultDb];
  const result: BaselineFile = {
    kind: 'restoreproof/baseline',
    version: 1,
    engine: 'postgres',
    capturedAt: new Date().toISOString(),
    tool: { name: 'restoreproof', version: toolVersion },
    source: { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), serverVersion: '' },
    consistency: `one REPEATABLE READ READ ONLY transaction per database${options.content ? ' (counts, schema and content digests from the same snapshot)' : ''}`,
    databases: {},
  };
  for (const database of databases) {
    const password = options.password ?? (url.password ? decodeURIComponent(url.password) : process.env.PGPASSWORD);
    const client = await connectPostgres(
      { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username) || process.env.PGUSER || 'postgres', database, ...(password !== undefined ? { password } : {}) },
      `source ${url.hostname}:${url.port || 5432}/${database}`,
    );
    try {
      await readOnly(client, async () => {
        const { rows } = await client.query<{ v: string }>("select current_setting('server_version') as v");
        result.source.serverVersion = rows[0]?.v ?? '';
        const tables = await countTables(client, await listTables(client));
        result.databases[database] = { tables, schema: await schemaFingerprint(client), ...(options.content ? { digests: await contentDigests(client, Object.keys(tables)) } : {}) };
      }, 'repeatable read');
    } finally {
      await client.end().catch(() => {});
    }
  }
  return result;
}
