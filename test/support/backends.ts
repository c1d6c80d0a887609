import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `scripts/testbed` provided, as recorded in `.testbed/env.json`. */
export interface TestbedEnv {
  version: number;
  DOCKER_HOST?: string;
  KUBECONFIG?: string;
  backends: Record<string, Record<string, unknown> | undefined>;
}

export const repoRoot = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
const envFile = join(repoRoot, '.testbed', 'env.json');

let cached: TestbedEnv | undefined;
export function testbed(): TestbedEnv {
  if (!cached) {
    cached = existsSync(envFile)
      ? (JSON.parse(readFileSync(envFile, 'utf8')) as TestbedEnv)
      : { version: 0, backends: {} };
  }
  return cached;
}

/**
 * Declares the backends a suite needs. A missing backend is a loud skip locally and a
 * failure under CI=true, so CI can never go green by skipping.
 */
export function requireBackends(ctx: Mocha.Context, ...names: string[]): void {
  const missing = names.filter((n) => !testbed().backends[n]);
  if (missing.length === 0) return;
  const reason = `test bed backend(s) missing: ${missing.join(', ')} (run scripts/testbed up ${missing.join(' ')})`;
  if (process.env.CI === 'true') throw new Error(reason);
  console.warn(`\n  SKIPPED: ${reason}\n`);
  ctx.skip();
}

/** Points the product's binary lookups (RESTOREPROOF_* variables) at what the test bed built. */
export function useTestbedBinaries(): Record<string, string> {
  const b = testbed().backends;
  const vars: Record<string, string> = {};
  const mongo = b.mongo as { server?: string; mongorestore?: string } | undefined;
  if (mongo?.server) vars.RESTOREPROOF_MONGOD = mongo.server;
  if (mongo?.mongorestore) vars.RESTOREPROOF_MONGO_TOOLS = join(mongo.mongorestore, '..');
  const minio = b.minio as { server?: string } | undefined;
  if (minio?.server) vars.RESTOREPROOF_MINIO = minio.server;
  const redis = b.redis as { server?: string } | undefined;
  if (redis?.server) vars.RESTOREPROOF_REDIS_SERVER = redis.server;
  const postgres = b.postgres as { binDir?: string } | undefined;
  if (postgres?.binDir) vars.RESTOREPROOF_PG_BINDIR = postgres.binDir;
  Object.assign(process.env, vars);
  return vars;
}

/** env.json names these files; a missing one means the backend is broken (a failure under CI). */
export function requireFiles(ctx: Mocha.Context, backend: string, files: string[]): void {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length === 0) return;
  const reason = `test bed backend ${backend} is broken: ${missing.join(', ')} missing (run scripts/testbed up ${backend})`;
  if (process.env.CI === 'true') throw new Error(reason);
  console.warn(`\n  SKIPPED: ${reason}\n`);
  ctx.skip();
}

export { freePort } from '../../src/runtimes/local/server.ts';
