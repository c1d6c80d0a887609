// Helpers of the network isolation suites (containers and kubernetes).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import pg from 'pg';
import type { AppSpec, StoreSpec } from '../../src/spec/types.ts';

/** A postgres store with nothing to restore: what the isolation suites provision. */
export const bareStoreSpec = { engine: 'postgres', restore: [] } as unknown as StoreSpec;

/** An app that answers every connection with "ok" on $PORT. */
export const echoAppSpec: AppSpec = {
  command: ['node', '-e', 'require("net").createServer((s) => s.end("ok\\n")).listen(Number(process.env.PORT), "0.0.0.0")'],
  port: 8080,
  startTimeout: '2m',
};

/** The first line a TCP server sends. */
export function firstLine(host: string, port: number): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let data = '';
    connect(port, host).setEncoding('utf8').on('data', (d: string) => (data += d)).on('error', reject).on('close', () => resolveLine(data.split('\n')[0]!));
  });
}

/** `select 1` through the store's URL as the harness reaches it. */
export async function assertQueryAnswers(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    assert.equal((await client.query('select 1 as one')).rows[0].one, 1);
  } finally {
    await client.end();
  }
}
