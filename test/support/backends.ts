import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { testbedBinaryVars, testbedImageVars, type TestbedEnv } from '../../scripts/lib/testbed-env.ts';

export type { TestbedEnv };

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
  const vars = testbedBinaryVars(testbed());
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

/** The test bed's Docker engine and images, as the containers runtime reads them (DOCKER_HOST, RESTOREPROOF_IMAGE_<ENGINE>). */
export function testbedImageEnv(): Record<string, string> {
  return { TESTCONTAINERS_RYUK_DISABLED: 'true', ...testbedImageVars(testbed()) };
}

/** The test bed cluster's kubeconfig, with the test bed's images, for the kubernetes runtime (KUBECONFIG, RESTOREPROOF_IMAGE_*). */
export function useTestbedCluster(extra: Record<string, string> = {}): { kubeconfig: string; restore: () => void } {
  const kubeconfig = (testbed().backends.kubernetes as { kubeconfig: string }).kubeconfig;
  return { kubeconfig, restore: useEnv({ ...testbedImageEnv(), KUBECONFIG: kubeconfig, ...extra }) };
}

/**
 * Points the containers runtime at the test bed's engine and images, beside useTestbedBinaries.
 * Returns a function that puts the environment back: with DOCKER_HOST set, `auto` would pick
 * containers for every later suite.
 */
export function useTestbedImages(): () => void {
  return useEnv(testbedImageEnv());
}

/** Sets environment variables for a suite; returns a function that puts the previous values back. */
export function useEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** In a describe block: the hooks that give one runtime its test bed (the Docker engine and images for containers). */
export function useRuntimeBackends(runtime: string): void {
  let restoreEnv: (() => void) | undefined;
  before(function () {
    if (runtime !== 'containers') return;
    requireBackends(this, 'docker');
    restoreEnv = useTestbedImages();
  });
  after(() => restoreEnv?.());
}
