import type { Connection } from 'mysql2/promise';
import type { BaselineFile } from '../../drill/baseline.ts';
import { RestoreproofError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import { toolVersion } from '../../version.ts';
import { connectMariadb, quoteIdent } from './client.ts';
import { contentDigests } from './content.ts';
import { schemaFingerprint } from './schema-fingerprint.ts';

export const systemDatabases = new Set(['information_schema', 'performance_schema', 'mysql', 'sys']);

/** The base tables of a database, by name. */
export async function listTables(connection: Connection, database: string): Promise<string[]> {
  const [rows] = await connection.query({ sql: "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", rowsAsArray: true }, [database]);
  return (rows as unknown[][]).map((r) => String(r[0]));
}

/** Exact row counts (COUNT(*), never information_schema's estimates), on the connection's transaction. */
export async function countTables(connection: Connection, database: string, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [rows] = await connection.query({ sql: `SELECT COUNT(*) FROM ${quoteIdent(database)}.${quoteIdent(table)}`, rowsAsArray: true });
    counts[table] = Number((rows as unknown[][])[0]?.[0]);
  }
  return counts;
}

/**
 * Row counts per table, the schema fingerprint and (content) each table's content digest of a live MariaDB or MySQL source, all read inside
 * one START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY (InnoDB tables: one point in time).
 */
export async function captureMariadbBaseline(options: { connectionString: string; password?: string; databases?: string[]; content?: boolean }): Promise<BaselineFile> {
  const url = new URL(options.connectionString);
  const endpoint = { host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: options.password ?? decodeURIComponent(url.password) };
  let connection: Connection;
  try {
    connection = await connectMariadb(endpoint, `source ${url.host}`);
  } catch (err) {
    throw new RestoreproofError('E_CONNECT', redact((err as Error).message));
  }
  try {
    await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const [version] = await connection.query({ sql: 'SELECT VERSION()', rowsAsArray: true });
    const fromUrl = decodeURIComponent(url.pathname.replace(/^\//, ''));
    let databases = options.databases?.length ? options.databases : fromUrl ? [fromUrl] : [];
    if (!databases.length) {
      const [rows] = await connection.query({ sql: 'SHOW DATABASES', rowsAsArray: true });
      databases = (rows as unknown[][]).map((r) => String(r[0])).filter((d) => !systemDatabases.has(d));
    }
    const result: BaselineFile = {
      kind: 'restoreproof/baseline',
      version: 1,
      engine: 'mariadb',
      capturedAt: new Date().toISOString(),
      tool: { name: 'restoreproof', version: toolVersion },
      source: { host: url.hostname, port: endpoint.port, user: endpoint.user, serverVersion: String((version as unknown[][])[0]?.[0] ?? '') },
      consistency: `one START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY for every database (InnoDB rows at one point in time; the schema from information_schema${options.content ? ' and the content digests' : ''} in the same transaction)`,
      databases: {},
    };
    for (const database of databases) {
      const tables = await countTables(connection, database, await listTables(connection, database));
      result.databases[database] = { tables, schema: await schemaFingerprint(connection, database), ...(options.content ? { digests: await contentDigests(connection, database, Object.keys(tables)) } : {}) };
    }
    await connection.query('COMMIT');
    return result;
  } finally {
    await connection.end().catch(() => {});
  }
}
