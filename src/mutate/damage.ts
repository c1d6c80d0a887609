import { copyFile, cp, mkdir, open, readdir, stat, truncate, utimes } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';

/** What an artefact mutant does to its run-owned copy. Sources are never opened for writing. */
export type ArtefactDamage = 'truncate' | 'flip-byte';

export const artefactDamages: readonly ArtefactDamage[] = ['truncate', 'flip-byte'];

/** The damaged copy: where it is, and which file inside a directory artefact was damaged. */
export interface DamagedCopy {
  path: string;
  /** The damaged file, relative to the artefact (directories only). */
  file?: string;
  /** The damaged file's size, and the offset that was cut at or flipped. */
  size: number;
  offset: number;
}

/**
 * The file of a directory artefact (a pgBackRest repo, a bucket mirror) that stands for its data:
 * the largest, the first by path among equals. Undefined for an empty directory.
 */
export async function dataFileOf(dir: string): Promise<{ path: string; size: number } | undefined> {
  let best: { path: string; size: number } | undefined;
  for (const entry of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    const { size } = await stat(path);
    if (!best || size > best.size || (size === best.size && path < best.path)) best = { path, size };
  }
  return best;
}

/**
 * Copies `source` (a file or a directory) into `into` and damages the copy: truncated at half its
 * size, or the byte in its middle flipped (every bit). The source is only read.
 */
export async function damagedCopy(source: string, kind: 'file' | 'directory', damage: ArtefactDamage, into: string): Promise<DamagedCopy> {
  await mkdir(into, { recursive: true });
  const path = join(into, basename(source));
  let target: { path: string; size: number } | undefined;
  if (kind === 'directory') {
    await cp(source, path, { recursive: true, preserveTimestamps: true });
    target = await dataFileOf(path);
    if (!target) throw new Error(`directory ${source} has no file to damage`);
  } else {
    await copyFile(source, path);
    target = { path, size: (await stat(path)).size };
  }
  if (target.size === 0) throw new Error(`${target.path === path ? source : relative(path, target.path)} is empty: there is nothing to damage`);
  // The copy keeps the source's times: a point in time read from the modification time stays the same.
  const { atime, mtime } = await stat(kind === 'directory' ? join(source, relative(path, target.path)) : source);
  const offset = Math.floor(target.size / 2);
  if (damage === 'truncate') await truncate(target.path, offset);
  else {
    const handle = await open(target.path, 'r+');
    try {
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, offset);
      byte[0] = byte[0]! ^ 0xff;
      await handle.write(byte, 0, 1, offset);
    } finally {
      await handle.close();
    }
  }
  await utimes(target.path, atime, mtime);
  return { path, ...(kind === 'directory' ? { file: relative(path, target.path) } : {}), size: target.size, offset };
}
