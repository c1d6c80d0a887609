import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { localRunRoots } from '../../src/runtimes/local/data-root.ts';

/** Paths of the dirs and files named `prefix…` in every place a local run keeps them (the temp dir, /dev/shm). */
export async function runDirsNamed(prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const root of await localRunRoots()) {
    for (const name of await readdir(root)) if (name.startsWith(prefix)) found.push(join(root, name));
  }
  return found;
}
