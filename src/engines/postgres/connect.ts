import pg from 'pg';
import { AuthenticationError, RestoreproofError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';

export type PgConnection = pg.ClientConfig;

/** bigint counts come back as numbers when they fit, so reports show 0, not "0". */
const types = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 && format !== 'binary') {
      return (text: string) => {
        const n = Number(text);
        return Number.isSafeInteger(n) ? n : text;
      };
    }
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/** Connects, turning driver errors into messages that say what to fix (and never echo a password). */
export async function connectPostgres(config: PgConnection, label: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionTimeoutMillis: 10_000, types, ...config });
  client.on('error', () => {}); // a server going away mid-check surfaces on the pending query
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    const e = err as { code?: string; message: string };
    if (e.code === '28P01' || e.code === '28000') throw new AuthenticationError(label, redact(e.message));
    if (e.code === '3D000') throw new RestoreproofError('E_NO_DATABASE', `${label}: ${redact(e.message)}`, { hint: 'check the database name' });
    throw new RestoreproofError('E_CONNECT', `${label}: cannot connect (${redact(e.code ?? '')} ${redact(e.message)})`.replace('( ', '('), {
      hint: 'check host, port and that the server is running',
    });
  }
}

/** Runs fn inside a READ ONLY transaction that is always rolled back. */
export async function readOnly<T>(client: pg.ClientBase, fn: () => Promise<T>, isolation = 'read committed'): Promise<T> {
  await client.query(`begin isolation level ${isolation} read only`);
  try {
    return await fn();
  } finally {
    await client.query('rollback').catch(() => {});
  }
}
