// Shared by drill-vs-raw, scaling and startup: the drill file over the bench backups, the child that
// runs it (so the harness's peak RSS is its own), and the raw tools run by hand.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdir, mkdir, stat, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join, relative } from 'node:path';
import { auditKey, mongoCollections, type BenchBackups } from '../../scripts/lib/bench-backups.ts';
import { s3Client } from '../../src/engines/s3/client.ts';
import { compileCacheDir } from '../../src/util/compile-cache.ts';
import { startLocalMinio } from '../../src/engines/s3/local.ts';
import { startLocalMongo } from '../../src/engines/mongodb/local.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import type { DrillMeasurement } from './drill-child.ts';
import { measureInChild } from '../lib.ts';

export const cores = availableParallelism();
/** What a careful operator picks on this machine, and what the drill is told too. */
export const options = { pgJobs: cores, mongoParallelCollections: mongoCollections.length, bucketConcurrency: 16 };

/** The drill: the same three stores the raw tools restore, on the local runtime, with the checks a real drill would run. */
export async function writeBenchDrill(b: BenchBackups, dir: string, withChecks = true): Promise<string> {
  await mkdir(dir, { recursive: true });
  const checks = [
    `    - { id: events, type: count, store: pg, database: ${b.database}, table: events, expect: { equals: ${b.counts.eventRows} } }`,
    `    - { id: audit-rows, type: count, store: pg, database: ${b.database}, table: audit, expect: { equals: ${b.counts.auditRows} } }`,
    `    - id: audit-chain
      type: auditChain
      store: pg
      database: ${b.database}
      table: audit
      orderBy: seq
      macColumn: mac
      linkColumn: prev_mac
      algorithm: HMAC-SHA256
      key: { env: BENCH_AUDIT_KEY }
      input: { template: "{prev}|{id}|{actor}|{action}|{created_at}" }`,
    ...mongoCollections.map((c) => `    - { id: mongo-${c}, type: count, store: mongo, database: ${b.mongoDatabase}, collection: ${c}, expect: { equals: ${b.counts.perCollection[c]} } }`),
    `    - { id: objects, type: objects, store: bucket, expect: { count: { equals: ${b.counts.objects} } } }`,
  ];
  const yaml = `apiVersion: restoreproof/v1
kind: RestoreDrill
metadata:
  name: bench-scale-${String(b.scale).replace('.', '-')}
  owner: bench
spec:
  runtime: local
  stores:
    pg:
      engine: postgres
      restore:
        - { artefact: ${b.postgresDump}, database: ${b.database}, jobs: ${options.pgJobs} }
    mongo:
      engine: mongodb
      restore:
        - { artefact: ${b.mongoArchive}, parallelCollections: ${options.mongoParallelCollections} }
    bucket:
      engine: s3
      restore:
        - { bucket: ${b.bucket}, artefact: ${b.bucketMirror}, concurrency: ${options.bucketConcurrency} }
${withChecks ? `  checks:\n${checks.join('\n')}\n` : ''}`;
  const file = join(dir, withChecks ? 'drill.yaml' : 'drill-no-checks.yaml');
  await writeFile(file, yaml);
  return file;
}

export type { DrillMeasurement } from './drill-child.ts';

/**
 * Runs the drill in a child process (drill-child.ts) that imports what the `restoreproof` command
 * imports and nothing else: the benchmark's own modules (the seeding's pg and mongodb drivers,
 * 0.1-0.2 s and tens of MiB) must not count as the harness's start or memory.
 */
export async function measureDrill(drill: string, reportDir: string): Promise<{ seconds: number; maxRssMiB: number; m: DrillMeasurement }> {
  // The command enables Node's compile cache (bin/restoreproof.js); the child uses the same one, warmed
  // first, as it is on a machine that ran restoreproof before (a first run after an install or
  // upgrade pays ~0.5 s more to fill it).
  const env = { BENCH_DRILL: drill, BENCH_REPORT_DIR: reportDir, BENCH_AUDIT_KEY: auditKey, NODE_COMPILE_CACHE: compileCacheDir() };
  await new Promise<void>((resolve, reject) => {
    const warm = spawn(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(new URL('../../src/run/run.ts', import.meta.url).href)})`], { env: { ...process.env, ...env }, stdio: 'inherit' });
    warm.once('error', reject).once('close', (code) => (code === 0 ? resolve() : reject(new Error(`warming the compile cache exited ${code}`))));
  });
  let r = await measureInChild(childScript, [], env);
  let m = r.result as unknown as DrillMeasurement;
  // freePort() closes its probe before the server binds, so on a busy shared machine another
  // process can take the port in between; that says nothing about the harness, so try once more.
  if (m.status !== 'passed' && JSON.stringify(m.errors).includes('port is already in use')) {
    console.error('a server lost its port to another process during start-up; running the drill again');
    r = await measureInChild(childScript, [], env);
    m = r.result as unknown as DrillMeasurement;
  }
  if (m.status !== 'passed') throw new Error(`the bench drill ${m.status}: ${JSON.stringify(m.errors).slice(0, 2000)} ${JSON.stringify(m.checks.filter((c) => c.status !== 'passed')).slice(0, 2000)}`);
  return { seconds: r.seconds, maxRssMiB: r.maxRssMiB, m };
}

const childScript = new URL('./drill-child.ts', import.meta.url).pathname;

export const phaseMs = (m: DrillMeasurement, name: string) => m.phases.find((p) => p.name === name)?.durationMs ?? 0;

// ---- the raw tools, one store after another, each into a fresh server started by the product's provisioner

export interface RawResult {
  store: string;
  command: string;
  /** The restore alone, from the tool's start to its end (server start excluded, as for the drill's restore). */
  seconds: number;
  serverStartSeconds: number;
}

/**
 * The servers a benchmark starts itself. A start still waiting for readiness is tracked too, so
 * `stopAll` (on a signal) aborts it and waits until the provisioner has removed its server.
 */
export class Servers {
  private readonly controller = new AbortController();
  /** Aborted by stopAll(true): raw tools get it too, so none outlives its server. */
  readonly signal = this.controller.signal;
  private readonly starting = new Set<Promise<StartedStore>>();
  private readonly started = new Set<StartedStore>();

  /** With the artefact's size, so the server's data dir is placed as the drill's is (storeDataRoot). */
  async start(runId: string, storeName: string, engine: 'postgres' | 'mongodb' | 's3', provision: (request: never) => Promise<StartedStore>, artefactBytes: number): Promise<StartedStore> {
    const artefacts = [{ info: { size: artefactBytes } }];
    const p = provision({ runId, drillName: 'bench-raw', storeName, spec: { engine, restore: [] }, drillDir: '/', signal: this.controller.signal, artefacts } as never);
    this.starting.add(p);
    try {
      const store = await p;
      this.started.add(store);
      return store;
    } finally {
      this.starting.delete(p);
    }
  }

  async stop(store: StartedStore): Promise<void> {
    this.started.delete(store);
    await store.stop();
  }

  async stopAll(abort = false): Promise<void> {
    if (abort) this.controller.abort();
    await Promise.allSettled([...this.starting]);
    await Promise.allSettled([...this.started].map((s) => this.stop(s)));
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, (performance.now() - t0) / 1000];
}

export async function rawPostgres(b: BenchBackups, runId: string, servers: Servers): Promise<RawResult> {
  const [store, serverStartSeconds] = await timed(() => servers.start(runId, 'pg', 'postgres', startLocalPostgres, b.bytes.postgresDump));
  const args = ['--no-owner', '--no-privileges', '--exit-on-error', `--jobs=${options.pgJobs}`, '--dbname', b.database, b.postgresDump];
  const [, seconds] = await timed(async () => {
    const created = await store.exec('createdb', [b.database], { signal: servers.signal });
    if (created.exitCode !== 0) throw new Error(`createdb failed: ${created.stderr}`);
    const run = await store.exec('pg_restore', args, { signal: servers.signal });
    if (run.exitCode !== 0) throw new Error(`pg_restore failed: ${run.stderr}`);
  });
  await servers.stop(store);
  return { store: 'pg', command: `createdb ${b.database} && pg_restore ${args.join(' ')}`, seconds, serverStartSeconds };
}

export async function rawMongo(b: BenchBackups, runId: string, servers: Servers): Promise<RawResult> {
  const [store, serverStartSeconds] = await timed(() => servers.start(runId, 'mongo', 'mongodb', startLocalMongo, b.bytes.mongoArchive));
  const args = [`--archive=${b.mongoArchive}`, '--gzip', '--drop', `--numParallelCollections=${options.mongoParallelCollections}`];
  const [, seconds] = await timed(async () => {
    const run = await store.exec('mongorestore', [`--uri=${store.url()}`, ...args], { signal: servers.signal });
    if (run.exitCode !== 0) throw new Error(`mongorestore failed: ${run.stderr}`);
  });
  await servers.stop(store);
  return { store: 'mongo', command: `mongorestore ${args.join(' ')}`, seconds, serverStartSeconds };
}

/** A parallel copy of the mirror into a fresh bucket (what `mc mirror`/`aws s3 sync` do), with the same S3 client the product uses. */
export async function rawBucket(b: BenchBackups, runId: string, servers: Servers): Promise<RawResult> {
  const [store, serverStartSeconds] = await timed(() => servers.start(runId, 'bucket', 's3', startLocalMinio, b.bytes.bucketMirror));
  const [, seconds] = await timed(async () => {
    const client = await s3Client(store.endpoint);
    await client.makeBucket(b.bucket, 'us-east-1');
    const files = (await readdir(b.bucketMirror, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
    let next = 0;
    await Promise.all(Array.from({ length: options.bucketConcurrency }, async () => {
      while (next < files.length && !servers.signal.aborted) {
        const path = files[next++]!;
        // With its size, as mc mirror and aws s3 sync send it (without, the client buffers to find it).
        await client.putObject(b.bucket, relative(b.bucketMirror, path), createReadStream(path), (await stat(path)).size);
      }
    }));
  });
  await servers.stop(store);
  return { store: 'bucket', command: `parallel put of ${b.counts.objects} files, ${options.bucketConcurrency} at a time`, seconds, serverStartSeconds };
}
