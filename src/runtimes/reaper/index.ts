import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { localRunRoots } from '../local/data-root.ts';
import { writeOwnerFile } from '../local/gc.ts';

/** What a run holds while it runs: its owner file, and (unless kept) the reaper watching the harness. */
export interface RunGuard {
  /**
   * At the end of the run. A completed teardown sends the reaper away and removes the owner
   * file; a kept run keeps the owner file (gc reads its expiry later); an incomplete teardown
   * leaves both to the reaper, which sweeps what is left as if the harness had died.
   */
  finish(teardown: 'completed' | 'nothing-to-do' | 'kept' | 'incomplete'): Promise<void>;
}

const reaperEntry = fileURLToPath(new URL('./process.ts', import.meta.url));

/**
 * Like testcontainers' Ryuk, but a process of this machine rather than a container: a detached
 * child (its own session and process group, so neither a terminal's Ctrl-C nor a kill of the
 * harness's group reaches it) that holds the read end of a pipe from the harness. When the pipe
 * closes without the harness saying "done" (the harness was SIGKILLed, or crashed), it removes
 * everything labelled with the run id on the runtime of the run and exits. Only this run's
 * resources: runs of other harnesses are never touched.
 */
function startReaper(runId: string, runtime: string, dir: string): ChildProcess | undefined {
  try {
    const child = spawn(process.execPath, [reaperEntry, runId, runtime, dir], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    // Neither the child nor the pipe keeps the harness alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return child;
  } catch {
    return undefined;
  }
}

export async function guardRun(options: { runId: string; runtime: string; keep: boolean }): Promise<RunGuard> {
  const dir = tmpdir();
  // In every place the run may leave a dir (the temp dir, /dev/shm), so a gc run with another
  // TMPDIR still finds who owns the run's dirs there, and leaves a running harness's alone.
  const written = await Promise.all((await localRunRoots()).map((root) => writeOwnerFile(options.runId, root).catch(() => undefined)));
  const owners = written.filter((f): f is string => Boolean(f));
  const reaper = options.keep ? undefined : startReaper(options.runId, options.runtime, dir);
  return {
    async finish(teardown) {
      if (teardown === 'kept') {
        reaper?.stdin?.end('done\n');
        return;
      }
      if (teardown === 'incomplete') {
        reaper?.stdin?.end();
        return;
      }
      await Promise.all(owners.map((file) => rm(file, { force: true }).catch(() => {})));
      reaper?.stdin?.end('done\n');
    },
  };
}
