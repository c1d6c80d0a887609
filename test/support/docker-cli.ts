import { execFileSync } from 'node:child_process';
import { testbedImageEnv } from './backends.ts';

/** The docker CLI against the test bed's engine; bounded, so a CLI that hangs fails the test instead of stalling the suite. */
export function dockerCli(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...testbedImageEnv() }, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Ids of the containers, networks and volumes labelled with a run id. */
export function labelledWith(runId: string): { containers: string[]; networks: string[]; volumes: string[] } {
  const label = `label=restoreproof.run=${runId}`;
  const ids = (args: string[]) => dockerCli([...args, '--filter', label]).split('\n').filter(Boolean);
  return { containers: ids(['ps', '-aq']), networks: ids(['network', 'ls', '-q']), volumes: ids(['volume', 'ls', '-q']) };
}

/** Removes containers (with their volumes), then networks, ignoring those already gone: a test's own clean-up. */
export function removeDockerObjects(objects: { containers?: string[]; networks?: string[] }): void {
  const quietly = (args: string[]) => {
    try {
      dockerCli(args);
    } catch {
      // already gone, or no engine
    }
  };
  for (const id of objects.containers ?? []) quietly(['rm', '-f', '-v', id]);
  for (const id of objects.networks ?? []) quietly(['network', 'rm', id]);
}
