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
