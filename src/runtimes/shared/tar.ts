import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pack } from 'tar-stream';

/** Where a store's tools find the files staged for them, in a container or a pod. */
export const stageRoot = '/restoreproof';

/** Tar staging shared by the container runtimes: files of this machine streamed into a container or pod. */
/** Adds `path` (a file, or a directory recursively) to the archive under `name`, streaming file contents. */
export async function feedTar(archive: Pack, path: string, name: string): Promise<void> {
  const dirs = name.split('/').slice(0, -1);
  for (let i = 1; i <= dirs.length; i++) await addEntry(archive, { name: dirs.slice(0, i).join('/'), type: 'directory', mode: 0o755 });
  await addPath(archive, path, name);
  archive.finalize();
}

export async function addPath(archive: Pack, path: string, name: string, top = true): Promise<void> {
  // Symlinks are followed to files (a Kubernetes ConfigMap or Secret volume holds nothing else)
  // and, at the top only, to a directory; a link inside a directory to a directory is left out (no loops).
  const link = await lstat(path);
  const st = link.isSymbolicLink() ? await stat(path) : link;
  if (st.isDirectory()) {
    if (link.isSymbolicLink() && !top) return;
    await addEntry(archive, { name, type: 'directory', mode: 0o755, mtime: st.mtime });
    for (const entry of (await readdir(path)).sort()) await addPath(archive, join(path, entry), `${name}/${entry}`, false);
    return;
  }
  if (!st.isFile()) return;
  await new Promise<void>((resolveEntry, reject) => {
    const entry = archive.entry({ name, size: st.size, mode: 0o644, mtime: st.mtime }, (err) => (err ? reject(err) : resolveEntry()));
    const source = createReadStream(path);
    source.once('error', (err) => {
      entry.destroy(err);
      reject(err);
    });
    source.pipe(entry);
  });
}

export function addEntry(archive: Pack, header: Parameters<Pack['entry']>[0]): Promise<void> {
  return new Promise((resolveEntry, reject) => archive.entry(header, (err) => (err ? reject(err) : resolveEntry())));
}
