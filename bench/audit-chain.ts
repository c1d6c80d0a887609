// auditChain at scale: N rows of an HMAC-SHA256 chain in PostgreSQL, verified by the check (COPY
// text, in key ranges on worker threads, one per core), against a bare `COPY (select … order by seq)
// TO STDOUT` of the same rows read through pg. Each measurement runs in its own process so its peak
// RSS is its own (the check's worker threads included). The machine may be shared: the load average
// at the start is printed, and at the end recorded in the JSON.
// Usage: node bench/audit-chain.ts [--rows 1000000] [--repeat 5]
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { auditChainRows, auditKey as key, createAuditTable, createDatabase } from '../scripts/lib/bench-backups.ts';
import { runAuditChain } from '../src/checks/audit-chain.ts';
import { postgresRows } from '../src/engines/postgres/rows.ts';
import { startLocalPostgres } from '../src/engines/postgres/local.ts';
import type { StartedStore, StoreEndpoint } from '../src/runtimes/types.ts';
import type { AuditChainCheckSpec } from '../src/drill/types.ts';
import { useTestbedBinaries } from '../test/support/backends.ts';
import { flag, measureInChild, medianOfRounds, report, type Figure } from './lib.ts';
import { preferSmallHeap } from '../src/util/heap.ts';

const script = new URL(import.meta.url).pathname;
const select = 'select seq, id, actor, action, created_at, prev_mac, mac from audit order by seq';

if (process.argv[2] === '--child') {
  const endpoint = JSON.parse(process.env.BENCH_PG!) as StoreEndpoint;
  const t0 = performance.now();
  let result: Record<string, unknown>;
  if (process.argv[3] === 'copy') {
    const client = new pg.Client({ ...endpoint, database: 'bench' });
    await client.connect();
    let bytes = 0;
    let lines = 0;
    const stream = client.query(copyTo(`copy (${select}) to stdout`));
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    }
    await client.end();
    result = { rows: lines, bytes };
  } else {
    // As the `restoreproof` command runs (bin/restoreproof.js), so speed and memory are the command's.
    preferSmallHeap();
    process.env.BENCH_AUDIT_KEY = key;
    const store = { name: 'db', engine: 'postgres', endpoint, url: () => '' } as unknown as StartedStore;
    const check: AuditChainCheckSpec = {
      type: 'auditChain', store: 'db', table: 'audit', orderBy: 'seq', macColumn: 'mac', linkColumn: 'prev_mac', algorithm: 'HMAC-SHA256',
      key: { env: 'BENCH_AUDIT_KEY' }, input: { template: '{prev}|{id}|{actor}|{action}|{created_at}' },
    };
    const outcome = await runAuditChain(check, { store, rows: postgresRows, database: 'bench', drillDir: '/', signal: new AbortController().signal });
    if (!outcome.passed) throw new Error(`the chain does not verify: ${outcome.message}`);
    result = outcome.actual as Record<string, unknown>;
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, result })}\n`);
  process.exit(0);
}

useTestbedBinaries();
const loadAverageAtStart = loadavg()[0]!;
const rows = flag('rows', 1_000_000);
/** A round is a few seconds at a million rows. */
const repeat = flag('repeat', 5);
const controller = new AbortController();
const runId = `bench-${randomBytes(3).toString('hex')}`;
let db: StartedStore | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void (db?.stop() ?? Promise.resolve()).then(() => process.exit(130)));
try {
  db = await startLocalPostgres({ runId, drillName: 'bench', storeName: 'db', spec: { engine: 'postgres', restore: [] }, drillDir: '/', signal: controller.signal });
  const client = await createDatabase(db.endpoint, 'bench');
  await createAuditTable(client);
  const t0 = performance.now();
  await pipeline(auditChainRows(rows, key), client.query(copyFrom('copy audit from stdin')));
  await client.query('vacuum analyze audit');
  await client.end();
  const seedSeconds = (performance.now() - t0) / 1000;
  const env = { BENCH_PG: JSON.stringify(db.endpoint) };
  // Warm the cache once, so neither side pays for the first read from disk; and the check once more:
  // its workers enable the command's compile cache, filled by the first run after a change, as on a
  // machine that ran restoreproof before.
  await measureInChild(script, ['--child', 'copy'], env);
  await measureInChild(script, ['--child', 'chain'], env);
  // Rounds of (bare COPY, then the check), each share taken within its round; the median printed.
  const rounds: Figure[][] = [];
  for (let round = 1; round <= repeat; round++) {
    const copy = await measureInChild(script, ['--child', 'copy'], env);
    const chain = await measureInChild(script, ['--child', 'chain'], env);
    if (chain.result.rowsVerified !== rows || copy.result.rows !== rows) throw new Error(`row counts differ: chain ${chain.result.rowsVerified}, copy ${copy.result.rows}, seeded ${rows}`);
    const share = (100 * copy.seconds) / chain.seconds;
    console.error(`round ${round}: chain ${chain.seconds.toFixed(2)}s, copy ${copy.seconds.toFixed(2)}s, share ${share.toFixed(1)}%`);
    rounds.push([
      { name: 'audit_chain_seconds', value: chain.seconds, unit: 's' },
      { name: 'audit_chain_rows_per_second', value: Math.round(rows / chain.seconds), unit: 'rows/s' },
      { name: 'audit_chain_peak_rss', value: chain.maxRssMiB, unit: 'MiB' },
      { name: 'copy_to_stdout_seconds', value: copy.seconds, unit: 's' },
      { name: 'copy_to_stdout_rows_per_second', value: Math.round(rows / copy.seconds), unit: 'rows/s' },
      { name: 'copy_to_stdout_peak_rss', value: copy.maxRssMiB, unit: 'MiB' },
      { name: 'audit_chain_to_copy_time_ratio', value: chain.seconds / copy.seconds, unit: 'x' },
      { name: 'audit_chain_share_of_copy_rate', value: share, unit: '%' },
    ]);
  }
  await report('audit-chain', [
    { name: 'rows', value: rows, unit: 'rows' },
    { name: 'rounds', value: repeat, unit: 'rounds' },
    { name: 'seed_seconds', value: seedSeconds, unit: 's' },
    ...medianOfRounds(rounds),
    { name: 'load_average_1m_at_start', value: loadAverageAtStart, unit: '' },
  ], { rows, repeat, rounds, algorithm: 'HMAC-SHA256', input: 'template {prev}|{id}|{actor}|{action}|{created_at}', linkColumn: true });
} finally {
  await db?.stop();
}
