// Reachability at scale: N references in PostgreSQL against M objects in MinIO, compared with a
// bare ListObjectsV2 walk of the same bucket. Each measurement runs in its own process so its
// peak RSS is its own.  Usage: node bench/reachability.ts [--refs 1000000] [--objects 1000000]
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import tar from 'tar-stream';
import { from as copyFrom } from 'pg-copy-streams';
import { runReachability } from '../src/checks/reachability.ts';
import { listAll, s3Client } from '../src/engines/s3/client.ts';
import { startLocalMinio } from '../src/engines/s3/local.ts';
import { startLocalPostgres } from '../src/engines/postgres/local.ts';
import type { StartedStore, StoreEndpoint } from '../src/runtimes/types.ts';
import type { Drill } from '../src/drill/types.ts';
import { useTestbedBinaries } from '../test/support/backends.ts';
import { flag, measureInChild, report } from './lib.ts';

const script = new URL(import.meta.url).pathname;
const key = (i: number) => `objects/${String(i).padStart(8, '0')}`;

if (process.argv[2] === '--child') {
  // One measurement; endpoints come from the parent through the environment.
  const pgEndpoint = JSON.parse(process.env.BENCH_PG!) as StoreEndpoint;
  const s3Endpoint = JSON.parse(process.env.BENCH_S3!) as StoreEndpoint;
  const t0 = performance.now();
  let result: Record<string, unknown>;
  if (process.argv[3] === 'list') {
    let n = 0;
    for await (const _ of listAll(s3Client(s3Endpoint), 'bench', '')) n++;
    result = { objects: n };
  } else {
    const fake = (name: string, engine: 'postgres' | 's3', endpoint: StoreEndpoint) => ({ name, engine, endpoint, url: () => '' }) as unknown as StartedStore;
    const drill = { dir: '/', document: { spec: { stores: { db: { engine: 'postgres', restore: [{ artefact: 'x', database: 'bench' }] }, bucket: { engine: 's3', restore: [{ bucket: 'bench', artefact: 'x' }] } } } } } as unknown as Drill;
    const outcome = await runReachability(
      { type: 'reachability', references: { store: 'db', database: 'bench', sql: 'select key, size from refs', sizeField: 'size' }, objects: { store: 'bucket' }, orphans: 'warn' },
      { drill, stores: new Map([['db', fake('db', 'postgres', pgEndpoint)], ['bucket', fake('bucket', 's3', s3Endpoint)]]), signal: new AbortController().signal },
    );
    result = outcome.actual as Record<string, unknown>;
  }
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, result })}\n`);
  process.exit(0);
}

useTestbedBinaries(); // the test bed's MinIO and PostgreSQL, when the machine has no others
// MinIO writes one xl.meta per object with a sync each: a million objects on a shared disk take
// hours to seed. Both sides of the comparison read the same server, so run it in memory.
if (!process.argv.includes('--on-disk') && (await import('node:fs')).existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
const refs = flag('refs', 1_000_000);
const objects = flag('objects', 1_000_000);
const controller = new AbortController();
const runId = `bench-${randomBytes(3).toString('hex')}`;
const request = (storeName: string, engine: 'postgres' | 's3') => ({ runId, drillName: 'bench', storeName, spec: { engine, restore: [] }, drillDir: '/', signal: controller.signal }) as never;
const started: StartedStore[] = [];
const stopAll = () => Promise.allSettled(started.map((s) => s.stop()));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopAll().then(() => process.exit(130)));
try {
  const db = await startLocalPostgres(request('db', 'postgres'));
  started.push(db);
  const bucket = await startLocalMinio(request('bucket', 's3'));
  started.push(bucket);

  const client = new pg.Client({ ...db.endpoint, database: 'postgres' });
  await client.connect();
  await client.query('create database bench');
  await client.end();
  const bench = new pg.Client({ ...db.endpoint, database: 'bench' });
  await bench.connect();
  await bench.query('create table refs (id bigint primary key, key text not null, size bigint not null)');
  const t0 = performance.now();
  await pipeline(
    Readable.from((function* () {
      for (let i = 0; i < refs; i++) yield `${i}\t${key(i)}\t1\n`;
    })()),
    bench.query(copyFrom('copy refs from stdin')),
  );
  await bench.end();
  console.error(`seeded ${refs} references in ${((performance.now() - t0) / 1000).toFixed(1)}s`);

  // Seeding a million objects one PUT at a time takes hours on two cores; MinIO's snowball
  // upload extracts a tar into one object per entry server-side.
  const s3 = await s3Client(bucket.endpoint);
  await s3.makeBucket('bench', 'us-east-1');
  const t1 = performance.now();
  const batch = 50_000;
  for (let start = 0; start < objects; start += batch) {
    const pack = tar.pack();
    const end = Math.min(objects, start + batch);
    const done = (async () => {
      for (let i = start; i < end; i++) {
        await new Promise<void>((resolve, reject) => pack.entry({ name: key(i), size: 1 }, 'x', (err) => (err ? reject(err) : resolve())));
      }
      pack.finalize();
    })();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    await done;
    const body = Buffer.concat(chunks);
    await s3.putObject('bench', `batch-${start}.tar`, body, body.length, { 'X-Amz-Meta-Snowball-Auto-Extract': 'true' });
    console.error(`  ${end} objects`);
  }
  console.error(`seeded ${objects} objects in ${((performance.now() - t1) / 1000).toFixed(1)}s`);

  const env = { BENCH_PG: JSON.stringify(db.endpoint), BENCH_S3: JSON.stringify(bucket.endpoint) };
  const list = await measureInChild(script, ['--child', 'list'], env);
  const check = await measureInChild(script, ['--child', 'check'], env);
  if (list.result.objects !== objects) throw new Error(`the bucket holds ${String(list.result.objects)} objects, expected ${objects}`);
  await report('reachability', [
    { name: 'reachability_references', value: refs, unit: 'rows' },
    { name: 'reachability_objects', value: objects, unit: 'objects' },
    { name: 'bare_listing_wall', value: list.seconds, unit: 's' },
    { name: 'bare_listing_peak_rss', value: list.maxRssMiB, unit: 'MiB' },
    { name: 'reachability_wall', value: check.seconds, unit: 's' },
    { name: 'reachability_peak_rss', value: check.maxRssMiB, unit: 'MiB' },
    { name: 'reachability_rate', value: (refs + objects) / check.seconds, unit: 'items/s' },
    { name: 'reachability_vs_bare_listing', value: check.seconds / list.seconds, unit: 'ratio' },
  ], { refs, objects, result: check.result });
} finally {
  await stopAll();
}
