// Source servers for the scenario generators: an ephemeral PostgreSQL with the databases a
// scenario seeds, stopped whatever happens. The product's own local runtime starts it.
import pg from 'pg';
import { newRunId } from '../../src/run/identity.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';

export interface SeedPostgres {
  store: StartedStore;
  /** A connected client for one of the databases; the caller ends it. */
  connect(database: string): Promise<pg.Client>;
}

export async function withSeedPostgres<T>(scenario: string, dir: string, databases: string[], fn: (seed: SeedPostgres) => Promise<T>): Promise<T> {
  const store = await startLocalPostgres({ runId: `${newRunId()}-seed`, drillName: scenario, storeName: 'source', spec: { engine: 'postgres', restore: [] }, drillDir: dir, signal: new AbortController().signal });
  try {
    const connect = async (database: string) => {
      const client = new pg.Client({ ...store.endpoint, database });
      await client.connect();
      return client;
    };
    const admin = await connect('postgres');
    try {
      for (const name of databases) await admin.query(`create database ${pg.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    return await fn({ store, connect });
  } finally {
    await store.stop();
  }
}
