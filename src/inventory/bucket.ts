// Offline inventory of a bucket mirror: a directory in the `mc mirror` layout, one file per object,
// the object key being the path relative to the root. The walk streams each directory (opendir)
// and keeps only per-prefix totals, never the list of keys.
import { opendir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ArtefactError } from '../errors.ts';

export interface BucketPrefixInventory {
  /** The top-level prefix (`images/`), or `` for objects at the root. */
  prefix: string;
  objects: number;
  bytes: number;
}

export interface BucketMirrorInventory {
  kind: 'bucket-mirror';
  path: string;
  objects: number;
  bytes: number;
  /** Modification times of the oldest and newest object (absent for an empty mirror). */
  oldestModifiedAt?: string;
  newestModifiedAt?: string;
  prefixes: BucketPrefixInventory[];
}

const hint = 'a bucket mirror must only hold regular files (and symlinks to files inside it), as `mc mirror` writes them';

/** Counts the objects and bytes of a bucket mirror, in total and per top-level prefix. */
export async function inventoryBucketMirror(dir: string): Promise<BucketMirrorInventory> {
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw new ArtefactError(dir, `${dir} is not a directory`);
  } catch (err) {
    if (err instanceof ArtefactError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ArtefactError(dir, code === 'ENOENT' ? `bucket mirror not found at ${dir}` : `cannot read ${dir} (${code})`);
  }
  const prefixes = new Map<string, BucketPrefixInventory>();
  let oldest = Infinity;
  let newest = -Infinity;

  const addObject = (key: string, size: number, mtimeMs: number) => {
    const slash = key.indexOf('/');
    const prefix = slash < 0 ? '' : key.slice(0, slash + 1);
    const entry = prefixes.get(prefix) ?? { prefix, objects: 0, bytes: 0 };
    entry.objects++;
    entry.bytes += size;
    prefixes.set(prefix, entry);
    oldest = Math.min(oldest, mtimeMs);
    newest = Math.max(newest, mtimeMs);
  };

  const keyOf = (path: string) => relative(root, path).split(sep).join('/');

  /** Where a symlink leads, refused if it leaves the root or dangles. */
  const resolveLink = async (path: string): Promise<string> => {
    let target: string;
    try {
      target = await realpath(path);
    } catch {
      throw new ArtefactError(dir, `object "${keyOf(path)}" is a dangling symlink`, hint);
    }
    if (target !== root && !target.startsWith(root + sep)) {
      throw new ArtefactError(dir, `object "${keyOf(path)}" is a symlink to ${target}, which escapes the mirror root ${root}`, hint);
    }
    return target;
  };

  /** `ancestors` holds the real paths of the directories being walked, to refuse symlink loops. */
  const walk = async (path: string, ancestors: Set<string>): Promise<void> => {
    const handle = await opendir(path);
    for await (const entry of handle) {
      const child = join(path, entry.name);
      let real = child;
      if (entry.isSymbolicLink()) real = await resolveLink(child);
      const info = await stat(real);
      if (info.isDirectory()) {
        if (ancestors.has(real)) throw new ArtefactError(dir, `"${keyOf(child)}" is a symlink loop back to "${keyOf(real) || '.'}"`, hint);
        await walk(child, new Set(ancestors).add(real));
      } else if (info.isFile()) {
        addObject(keyOf(child), info.size, info.mtimeMs);
      } else {
        throw new ArtefactError(dir, `"${keyOf(child)}" is neither a file nor a directory`, hint);
      }
    }
  };

  try {
    await walk(root, new Set([root]));
  } catch (err) {
    if (err instanceof ArtefactError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new ArtefactError(dir, `cannot read the bucket mirror (${e.code ?? e.message}${e.path ? ` at ${e.path}` : ''})`);
  }
  const list = [...prefixes.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  const result: BucketMirrorInventory = {
    kind: 'bucket-mirror',
    path: dir,
    objects: list.reduce((n, p) => n + p.objects, 0),
    bytes: list.reduce((n, p) => n + p.bytes, 0),
    prefixes: list,
  };
  if (Number.isFinite(oldest)) {
    result.oldestModifiedAt = new Date(oldest).toISOString();
    result.newestModifiedAt = new Date(newest).toISOString();
  }
  return result;
}
