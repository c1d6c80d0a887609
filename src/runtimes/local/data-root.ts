import { statfs } from 'node:fs/promises';
import { freemem, tmpdir } from 'node:os';
import { UsageError } from '../../errors.ts';

/** Linux's shared-memory tmpfs: files there live in memory, and removing them costs no disk writes. */
export const MEMORY_ROOT = '/dev/shm';
const TMPFS_MAGIC = 0x01021994;

/** How much room a store's restored data may take per byte of its artefacts: compressed dumps expand several times. */
const EXPANSION = 10;
/** The share of free memory (and of the tmpfs) a store may claim, so stores restored side by side still fit. */
const SHARE = 0.25;

export type DataPlacement = 'auto' | 'memory' | 'disk';

/** RESTOREPROOF_LOCAL_DATA: where local store servers keep their data (auto, memory or disk). */
export function dataPlacement(env: NodeJS.ProcessEnv = process.env): DataPlacement {
  const value = env.RESTOREPROOF_LOCAL_DATA || 'auto';
  if (value === 'auto' || value === 'memory' || value === 'disk') return value;
  throw new UsageError(`RESTOREPROOF_LOCAL_DATA is "${value}"`, 'set it to auto (the default), memory or disk');
}

async function memoryRootFree(): Promise<number | undefined> {
  try {
    const fs = await statfs(MEMORY_ROOT);
    return fs.type === TMPFS_MAGIC ? fs.bavail * fs.bsize : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a local store's server dir goes. A store's data is discarded at the end of the run, so
 * with `auto` it lives in memory (/dev/shm) when ten times its artefacts' size fits in a quarter of
 * both free memory and the tmpfs: the restore then writes no disk, and the teardown removes a
 * store of 10k objects in tenths of a second instead of seconds. Otherwise, and with `disk`, the
 * temp dir; `memory` insists on /dev/shm.
 */
export async function storeDataRoot(artefactBytes: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const placement = dataPlacement(env);
  if (placement === 'disk') return tmpdir();
  const free = await memoryRootFree();
  if (placement === 'memory') {
    if (free === undefined) throw new UsageError(`RESTOREPROOF_LOCAL_DATA=memory, but ${MEMORY_ROOT} is not a tmpfs here`, 'set RESTOREPROOF_LOCAL_DATA to auto or disk');
    return MEMORY_ROOT;
  }
  return free !== undefined && artefactBytes * EXPANSION <= SHARE * Math.min(free, freemem()) ? MEMORY_ROOT : tmpdir();
}

/** Every dir a local run may have left its dirs in: the temp dir, and /dev/shm when it is a tmpfs. */
export async function localRunRoots(): Promise<string[]> {
  const roots = [tmpdir()];
  if ((await memoryRootFree()) !== undefined && !roots.includes(MEMORY_ROOT)) roots.push(MEMORY_ROOT);
  return roots;
}
