import type pg from 'pg';
import { AuthenticationError, InterruptedError, RestoreproofError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';

export type PgConnection = pg.ClientConfig;

let driver: typeof pg | undefined;

/** The pg driver, imported on first use rather than with the engine: ~40 ms of every run's start. */
export async function pgDriver(): Promise<typeof pg> {
  driver ??= (await import('pg')).default;
  return driver;
}

/** bigint counts come back as numbers when they fit, so reports show 0, not "0". Only called once pgDriver has loaded. */
const types = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 && format !== 'binary') {
      return (text: string) => {
        const n = Number(text);
        return Number.isSafeInteger(n) ? n : text;
      };
    }
    return driver!.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/**
 * Connects, turning driver errors into messages that say what to fix (and never echo a password).
 * With a signal, an abort cancels the statement that runs (pg_cancel_backend) and closes the
 * connection, so an interrupted run does not wait for a long query.
 */
export async function connectPostgres(config: PgConnection, label: string, signal?: AbortSignal): Promise<pg.Client> {
  if (signal?.aborted) throw new InterruptedError(signal, `before connecting to ${label}`);
  const { Client } = await pgDriver();
  const client = new Client({ connectionTimeoutMillis: 10_000, types, ...config });
  client.on('error', () => {}); // a server going away mid-check surfaces on the pending query
  try {
    await client.connect();
    if (signal) cancelOnAbort(client, config, signal);
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

function cancelOnAbort(client: pg.Client, config: PgConnection, signal: AbortSignal): void {
  const backend = (client as unknown as { processID: number | null }).processID;
  const onAbort = async () => {
    const canceller = new driver!.Client({ ...config, connectionTimeoutMillis: 2000 });
    canceller.on('error', () => {});
    try {
      await canceller.connect();
      await canceller.query('select pg_cancel_backend($1)', [backend]);
    } catch {
      // the server is gone or refuses: closing the connection below still ends the wait
    } finally {
      await canceller.end().catch(() => {});
    }
    await client.end().catch(() => {});
  };
  const listener = () => void onAbort();
  if (signal.aborted) return listener();
  signal.addEventListener('abort', listener, { once: true });
  client.once('end', () => signal.removeEventListener('abort', listener));
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

/** Readiness probe shared by the runtimes: a query answers, and says the server's version. */
export async function postgresServerVersion(endpoint: StoreEndpoint): Promise<string> {
  const { Client } = await pgDriver();
  const client = new Client({ ...endpoint, database: 'postgres', connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ?? '';
  } finally {
    await client.end().catch(() => {});
  }
}
