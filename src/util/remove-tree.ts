import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { childEnv } from './process.ts';

/** `rm` processes at once over a large tree: removing is bound by each unlink's latency, not by a core. */
const REMOVERS = 4;
/** A tree with fewer entries than this a few levels down is removed by one `rm`. */
const PARALLEL_FROM = 64;
const PATHS_PER_RM = 256;

function rmRf(paths: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('rm', ['-rf', '--', ...paths], { stdio: 'ignore', env: childEnv() });
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
}

/** The entries up to three levels below `dir`, directories opened until there are enough to share out. */
async function spreadEntries(dir: string): Promise<string[]> {
  let entries = [{ path: dir, directory: true }];
  for (let depth = 0; depth < 3 && entries.length < PARALLEL_FROM; depth++) {
    const next: typeof entries = [];
    for (const e of entries) {
      if (!e.directory) next.push(e);
      else for (const d of await readdir(e.path, { withFileTypes: true })) next.push({ path: join(e.path, d.name), directory: d.isDirectory() });
    }
    entries = next;
  }
  return entries.map((e) => e.path);
}

/**
 * Removes a directory tree the run created, and resolves once it is gone. `rm -rf` where the system
 * has one, several at once over a large tree's subtrees: Node's recursive rm keeps a walk's every
 * entry in the harness's heap (a MinIO data dir of 100k objects peaked at 463 MiB RSS), and one
 * `rm -rf` waits on one unlink at a time (10k object dirs here: 4.6 s for one, 1.4 s for four).
 * Where `rm` is missing or fails, Node's rm runs and its error is the one thrown.
 */
export async function removeTree(dir: string): Promise<void> {
  if (process.platform !== 'win32') {
    const entries = await spreadEntries(dir).catch(() => [dir]);
    let removed = true;
    if (entries.length >= PARALLEL_FROM) {
      const chunks: string[][] = [];
      // One `rm` per remover where the paths allow: each spawn of a large harness costs some 5-10 ms.
      const size = Math.min(PATHS_PER_RM, Math.ceil(entries.length / REMOVERS));
      for (let i = 0; i < entries.length; i += size) chunks.push(entries.slice(i, i + size));
      await Promise.all(Array.from({ length: REMOVERS }, async () => {
        for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) removed = (await rmRf(chunk)) && removed;
      }));
    }
    if (removed && (await rmRf([dir]))) return;
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
