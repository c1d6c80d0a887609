import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { RestoreproofError } from '../errors.ts';
import { parseIdentity, processAlive, processIdentity, type ProcessIdentity } from './owner.ts';

export interface HeldLock {
  release(): Promise<void>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function holderOf(path: string): Promise<{ text: string; owner: ProcessIdentity | undefined } | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    let owner: ProcessIdentity | undefined;
    try {
      owner = parseIdentity(JSON.parse(text));
    } catch {
      owner = undefined;
    }
    return { text, owner };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Breaks a lock whose holder died. The lock is first moved aside (rename is atomic, so only one
 * breaker gets it); if what was moved is not the dead holder's lock, another process took the
 * lock meanwhile and it is put back.
 */
async function breakStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    if ((await readFile(aside, 'utf8')) !== staleText) await link(aside, path).catch(() => {});
  } finally {
    await rm(aside, { force: true });
  }
}

/**
 * An exclusive lock between processes, possibly of several hosts sharing the directory: the file
 * `path`, created whole (written aside, then hard-linked into place, which fails if it exists)
 * and holding the holder's identity. A holder that died (pid gone, or reused by a later process)
 * leaves a stale lock, which the next process breaks; a holder on another host is waited for.
 */
export async function acquireLock(path: string, options: { timeoutMs?: number; what?: string } = {}): Promise<HeldLock> {
  // The token tells this holder from another lock of the same process.
  const mine = JSON.stringify({ ...processIdentity(), token: randomBytes(8).toString('hex') });
  const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, mine, { mode: 0o644 });
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let wait = 10;
  try {
    for (;;) {
      try {
        await link(draft, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = await holderOf(path);
      if (!holder) continue;
      // Unreadable content cannot come from a holder (the file is linked in whole): a damaged lock.
      if (!holder.owner || processAlive(holder.owner) === false) {
        await breakStale(path, holder.text);
        continue;
      }
      if (Date.now() > deadline) {
        const o = holder.owner;
        throw new RestoreproofError('E_LOCKED', `${options.what ?? path} is locked by process ${o.pid} on ${o.host}, which still runs`, {
          hint: `wait for it to finish; if that process is not restoreproof, remove ${path}`,
        });
      }
      await pause(wait + Math.random() * wait);
      wait = Math.min(wait * 2, 250);
    }
  } finally {
    await rm(draft, { force: true });
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // Only our own lock: never one that was broken and taken by another process meanwhile.
      if ((await holderOf(path))?.text === mine) await rm(path, { force: true });
    },
  };
}
