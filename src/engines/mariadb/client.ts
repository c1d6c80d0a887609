import { RestoreproofError } from '../../errors.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';
import type { Connection } from 'mysql2/promise';

/** A connection to a store's server: mysql2, loaded on first use (only MariaDB stores need it). */
export async function connectMariadb(endpoint: StoreEndpoint, what: string, database?: string): Promise<Connection> {
  const { createConnection } = await import('mysql2/promise');
  try {
    return await createConnection({
      host: endpoint.host, port: endpoint.port, user: endpoint.user, password: endpoint.password,
      ...(database ? { database } : {}),
      // Exact values: counts and DECIMALs as strings, dates as the server prints them.
      supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
      connectTimeout: 10_000,
    });
  } catch (err) {
    throw new RestoreproofError('E_STORE', `cannot connect to ${what}: ${(err as Error).message}`);
  }
}

export async function withMariadb<T>(endpoint: StoreEndpoint, what: string, database: string | undefined, fn: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await connectMariadb(endpoint, what, database);
  try {
    return await fn(connection);
  } finally {
    await connection.end().catch(() => {});
  }
}

/** The server's version, proving it answers queries (the readiness probe of both runtimes). */
export async function mariadbServerVersion(endpoint: StoreEndpoint): Promise<string> {
  const { createConnection } = await import('mysql2/promise');
  const connection = await createConnection({ host: endpoint.host, port: endpoint.port, user: endpoint.user, password: endpoint.password, connectTimeout: 5_000 });
  try {
    const [rows] = await connection.query('SELECT VERSION() AS v');
    return String((rows as { v: string }[])[0]?.v ?? '');
  } finally {
    await connection.end().catch(() => {});
  }
}

/** A backtick-quoted identifier: any name, backticks doubled. */
export const quoteIdent = (name: string) => `\`${name.replace(/`/g, '``')}\``;

/** A string literal for the statements the harness itself writes (account names, passwords). */
export const quoteString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * `table`, `db.table` or backtick-quoted parts (`` `My DB`.`T` ``), split into names. A name that
 * does not start with a backtick and holds no dot is one identifier, whatever it contains.
 */
export function tableNameParts(name: string): string[] {
  if (!name.startsWith('`')) {
    const parts = name.split('.');
    if (parts.length > 2 || parts.some((p) => p === '')) throw new Error(`${JSON.stringify(name)}: write a name with dots in backticks (\`a.b\`)`);
    return parts;
  }
  const parts: string[] = [];
  let rest = name;
  while (rest.length) {
    const m = /^`((?:[^`]|``)+)`/.exec(rest);
    if (!m) throw new Error(`${JSON.stringify(name)}: unbalanced backticks`);
    parts.push(m[1]!.replace(/``/g, '`'));
    rest = rest.slice(m[0].length);
    if (rest.startsWith('.')) rest = rest.slice(1);
    else if (rest.length) throw new Error(`${JSON.stringify(name)}: expected a dot after ${m[0]}`);
  }
  if (parts.length > 2) throw new Error(`${JSON.stringify(name)}: at most database.table`);
  return parts;
}

/** A table name as the check writes it (see tableNameParts), quoted. */
export const quoteTableName = (name: string): string => tableNameParts(name).map(quoteIdent).join('.');
