import { execFileSync } from 'node:child_process';
import { testbedImageEnv } from './backends.ts';

/** The docker CLI against the test bed's engine; bounded, so a docker CLI that hangs fails the test instead of stalling the suite. */
export function docker(args: string[], input?: string): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...testbedImageEnv() }, ...(input !== undefined ? { input } : {}), stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

/** The containers and networks a run left, by its label (empty strings when none). */
export const leftovers = (runId: string) => ({
  containers: docker(['ps', '-aq', '--filter', `label=restoreproof.run=${runId}`]),
  networks: docker(['network', 'ls', '-q', '--filter', `label=restoreproof.run=${runId}`]),
});

/** The process list of a running container (`docker top`), or '' when it is not running (yet, or any more). */
export function containerProcesses(name: string): string {
  try {
    return docker(['top', name, '-eo', 'pid,args']);
  } catch {
    return '';
  }
}
