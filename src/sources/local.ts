import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable, pipeline } from 'node:stream';
import { ArtefactError } from '../errors.ts';
import { sha256File } from '../util/hash.ts';

export type Compression = 'none' | 'gzip';

export interface ArtefactInfo {
  kind: 'file' | 'directory';
  /** As written in the drill. */
  ref: string;
  path: string;
  size: number;
  sha256: string;
  modifiedAt: string;
  compression: Compression;
  /** The first bytes after decompression, for format detection (files only). */
  head: Buffer;
  /** Directories: how many files. */
  entries?: number;
  /** `fetch: pod`: `path` is inside the store's pod, which downloads the object from this URL (a secret). */
  fetchedInPod?: PodFetch;
}

/** An object the store's pod downloads itself; its digest is computed there and checked before the restore. */
export interface PodFetch {
  url: string;
  expected?: { sha256: string; from: string };
  /** Filled in once the pod has the file. */
  actual?: { sha256: string; size: number };
}

/** Reads a local backup artefact without modifying it: size, sha256 (streamed), compression and header bytes. */
export async function inspectLocalArtefact(ref: string, baseDir: string, options: { hash?: boolean; directory?: boolean; known?: ArtefactInfo } = {}): Promise<ArtefactInfo> {
  if (options.known) return options.known;
  const path = resolve(baseDir, ref);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ArtefactError(ref, code === 'ENOENT' ? `backup artefact not found at ${path}` : `cannot read ${path} (${code})`, 'check the artefact path; relative paths are resolved from the drill file');
  }
  if (info.isDirectory() && options.directory) return inspectLocalDirectory(ref, path, options);
  if (!info.isFile()) throw new ArtefactError(ref, `${path} is not a regular file`);
  if (info.size === 0) throw new ArtefactError(ref, `${path} is empty`);
  const raw = await readHead(path, 512);
  const compression: Compression = raw[0] === 0x1f && raw[1] === 0x8b ? 'gzip' : 'none';
  const head = compression === 'gzip' ? await gunzipHead(path, 512) : raw;
  return { kind: 'file', ref, path, size: info.size, sha256: options.hash === false ? '' : await sha256File(path), modifiedAt: info.mtime.toISOString(), compression, head };
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function gunzipHead(path: string, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = createReadStream(path).pipe(createGunzip());
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total >= bytes) break;
    }
  } catch {
    // A corrupt gzip stream is reported by the restore itself, with the tool's message.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/**
 * Opens the artefact for streaming, decompressing on the fly. Nothing is read until the consumer
 * reads: a truncated gzip file fails at once, and that error must reach the consumer's listener,
 * not fire as an uncaught error while the consumer is still starting the tool.
 */
export function openArtefact(info: Pick<ArtefactInfo, 'path' | 'compression'>): Readable {
  async function* chunks() {
    const file = createReadStream(info.path);
    yield* info.compression === 'gzip' ? pipeline(file, createGunzip(), () => {}) : file;
  }
  return Readable.from(chunks(), { objectMode: false });
}

const FILES_HASHED_AT_ONCE = 8;

/** The digest of an artefact inspected without one (`hash: false`): what verify would have recorded. */
export async function digestLocalArtefact(info: ArtefactInfo, signal?: AbortSignal): Promise<string> {
  if (info.kind === 'directory') return (await inspectLocalDirectory(info.ref, info.path, { signal })).sha256;
  return sha256File(info.path, signal);
}

/**
 * A directory artefact (a mongodump directory, a bucket mirror). Its digest is the sha256 of a
 * manifest of `path\tsize\tsha256` lines in sorted path order. Symlinks that leave the
 * directory are refused: restoring one would read files the backup does not contain.
 */
export async function inspectLocalDirectory(ref: string, root: string, options: { hash?: boolean; signal?: AbortSignal } = {}): Promise<ArtefactInfo> {
  const manifest = createHash('sha256');
  let size = 0;
  let entries = 0;
  let newest = 0;
  const realRoot = await realpath(root);
  // Small files cost an open and a close each: several are read at once, the manifest keeps walk order.
  const window: Promise<string>[] = [];
  const lines: ((digest: string) => string)[] = [];
  const flush = async (keep: number) => {
    while (window.length > keep) manifest.update(lines.shift()!(await window.shift()!));
  };
  for await (const file of walkFiles(realRoot, ref)) {
    size += file.size;
    entries++;
    newest = Math.max(newest, file.mtimeMs);
    const digest = options.hash === false ? Promise.resolve('') : sha256File(file.path, options.signal);
    digest.catch(() => {}); // awaited in turn below; until then its failure is not unhandled
    window.push(digest);
    lines.push((digest) => `${file.relative}\t${file.size}\t${digest}\n`);
    await flush(FILES_HASHED_AT_ONCE - 1);
  }
  await flush(0);
  return {
    kind: 'directory', ref, path: root, size, entries, sha256: options.hash === false ? '' : manifest.digest('hex'),
    modifiedAt: new Date(newest || Date.now()).toISOString(), compression: 'none', head: Buffer.alloc(0),
  };
}

export interface WalkedFile {
  path: string;
  /** POSIX-style path relative to the root: the object key of a bucket mirror. */
  relative: string;
  size: number;
  mtimeMs: number;
}

/** Depth-first, entries sorted by name so the order (and the manifest digest) is stable. */
export async function* walkFiles(root: string, ref: string, relative = ''): AsyncGenerator<WalkedFile> {
  const dir = relative ? join(root, relative) : root;
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    const rel = relative ? `${relative}/${name}` : name;
    const full = join(root, rel);
    let info = await lstat(full);
    if (info.isSymbolicLink()) {
      const target = await realpath(full).catch(() => undefined);
      if (!target || (target !== root && !target.startsWith(`${root}${sep}`))) {
        throw new ArtefactError(ref, `${rel} is a symlink that escapes the artefact directory (to ${target ?? 'a missing target'})`, 'a backup must not reference files outside itself; remove the link');
      }
      info = await stat(full);
    }
    if (info.isDirectory()) yield* walkFiles(root, ref, rel);
    else if (info.isFile()) yield { path: full, relative: rel, size: info.size, mtimeMs: info.mtimeMs };
  }
}
