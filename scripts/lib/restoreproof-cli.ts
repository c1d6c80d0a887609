// The generators call the product's CLI as a platform's backup script would (baseline capture at
// backup time): a child process on this checkout's bin, so its exit code and stderr are the CLI's.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const repoRoot = new URL('../..', import.meta.url).pathname;

/** Runs `restoreproof <args>`; `env` adds variables (a --password-env password); throws with its stderr on a non-zero exit. */
export function restoreproofCli(args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/restoreproof.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`restoreproof ${args.join(' ')} failed: ${r.stderr}`);
}
