// Helpers of the network isolation suites (containers and kubernetes).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import pg from 'pg';
import type { AppSpec, StoreSpec } from '../../src/drill/types.ts';

/** A postgres store with nothing to restore: what the isolation suites provision. */
export const bareStoreSpec = { engine: 'postgres', restore: [] } as unknown as StoreSpec;

/**
 * A node script answering every connection with `reply` on `port` (a shell expression allowed in
 * none of them). Probes connect and close at once, so a reset socket must not kill it.
 */
export function listenerScript(reply: string, port: string): string {
  return `require("net").createServer((s) => { s.on("error", () => {}); s.end("${reply}\\n"); }).listen(${port}, "0.0.0.0")`;
}

/** An app that answers every connection with "ok" on $PORT. */
export const echoAppSpec: AppSpec = {
  command: ['node', '-e', listenerScript('ok', 'Number(process.env.PORT)')],
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
