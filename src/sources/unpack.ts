import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, realpath, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, posix, relative, sep } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import tar from 'tar-stream';
import { ArtefactError } from '../errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export interface Limits {
  maxBytes: number;
  maxEntries: number;
}

export const defaultLimits: Limits = { maxBytes: 64 * 1024 ** 3, maxEntries: 1_000_000 };

const units: Record<string, number> = { '': 1, b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i.exec(value.trim());
  if (!m) throw new Error(`invalid size "${value}" (e.g. 512MiB, 10GB)`);
  return Math.floor(Number(m[1]) * units[(m[2] ?? '').toLowerCase()]!);
}

export function compressionOf(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528 && head.length >= 4) return 'zstd';
  return 'none';
}

/** Reads the first bytes of a stream and gives back a stream that still starts with them. */
export async function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let total = 0;
  let done = false;
  while (total < bytes) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    chunks.push(next.value as Buffer);
    total += (next.value as Buffer).length;
  }
  const head = Buffer.concat(chunks);
  async function* rest() {
    if (head.length) yield head;
    if (done) return;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value as Buffer;
  }
  return { head: head.subarray(0, bytes), stream: Readable.from(rest(), { objectMode: false }) };
}

export function decompressor(kind: Compression): Transform | undefined {
  if (kind === 'gzip') return createGunzip();
  if (kind === 'zstd') return createZstdDecompress();
  return undefined;
}

/** Fails the stream once more than `max` bytes came out of the decompressor: a bomb stops here. */
export function byteLimit(ref: string, max: number, what: string): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      t.bytes += chunk.length;
      if (t.bytes > max) cb(new ArtefactError(ref, `unpacks to more than ${max} bytes (${what}); refusing a possible decompression bomb`, 'raise unpack.maxBytes if the backup is really this large'));
      else cb(null, chunk);
    },
  }) as Transform & { bytes: number };
  t.bytes = 0;
  return t;
}

export interface UnpackedFile {
  sha256: string;
  size: number;
}

export interface UnpackResult {
  entries: number;
  bytes: number;
  files: Map<string, UnpackedFile>;
}

/** A path inside the archive as a safe relative path, or an error naming the entry. */
function safeName(ref: string, name: string): string {
  const clean = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (name.includes('\0')) throw new ArtefactError(ref, `tar entry ${JSON.stringify(name)} has a NUL byte`);
  if (isAbsolute(name) || name.startsWith('/')) throw new ArtefactError(ref, `tar entry ${name} has an absolute path; refusing to unpack`, 'a backup archive must only hold relative paths');
  if (clean.split('/').includes('..')) throw new ArtefactError(ref, `tar entry ${name} escapes the target dir (..); refusing to unpack`, 'a backup archive must not write outside its own directory');
  return clean;
}

const inside = (root: string, path: string) => path === root || path.startsWith(`${root}${sep}`);

/**
 * Unpacks a tar stream into `root` (which must exist and be empty). Refuses absolute paths, `..`,
 * links that point outside, devices and FIFOs; stops at `limits`. Every file's sha256 is computed
 * while it is written, for bundle verification.
 */
export async function untar(ref: string, input: Readable, root: string, limits: Limits, signal: AbortSignal): Promise<UnpackResult> {
  const realRoot = await realpath(root);
  const extract = tar.extract();
  const result: UnpackResult = { entries: 0, bytes: 0, files: new Map() };
  const writeEntry = async (header: tar.Header, stream: Readable) => {
    result.entries++;
    if (result.entries > limits.maxEntries) throw new ArtefactError(ref, `has more than ${limits.maxEntries} entries; refusing to unpack`, 'raise unpack.maxEntries if the backup really has this many files');
    const name = safeName(ref, header.name);
    if (!name) {
      stream.resume();
      return;
    }
    const target = join(realRoot, ...name.split('/'));
    const parent = dirname(target);
    switch (header.type) {
      case 'directory':
        await mkdir(target, { recursive: true, mode: 0o700 });
        await ensureInside(ref, realRoot, target, name);
        stream.resume();
        return;
      case 'file':
      case 'contiguous-file': {
        const size = header.size ?? 0;
        if (result.bytes + size > limits.maxBytes) throw new ArtefactError(ref, `unpacks to more than ${limits.maxBytes} bytes (at ${name}); refusing a possible decompression bomb`, 'raise unpack.maxBytes if the backup is really this large');
        await mkdir(parent, { recursive: true, mode: 0o700 });
        await ensureInside(ref, realRoot, parent, name);
        const file = await writeFileFrom(stream, target, signal, ((header.mode ?? 0o600) & 0o755) | 0o600);
        result.bytes += file.size;
        result.files.set(name, file);
        return;
      }
      case 'symlink': {
        const to = header.linkname ?? '';
        const resolved = isAbsolute(to) ? to : join(parent, to);
        if (isAbsolute(to) || !inside(realRoot, resolved)) throw new ArtefactError(ref, `tar entry ${name} is a symlink to ${to}, outside the archive; refusing to unpack`, 'a backup must not reference files outside itself');
        await mkdir(parent, { recursive: true, mode: 0o700 });
        await ensureInside(ref, realRoot, parent, name);
        await symlink(to, target);
        stream.resume();
        return;
      }
      case 'link': {
        const to = safeName(ref, header.linkname ?? '');
        const source = join(realRoot, ...to.split('/'));
        const real = await realpath(source).catch(() => undefined);
        if (!real || !inside(realRoot, real)) throw new ArtefactError(ref, `tar entry ${name} is a hard link to ${header.linkname}, outside the archive or missing; refusing to unpack`);
        await mkdir(parent, { recursive: true, mode: 0o700 });
        await ensureInside(ref, realRoot, parent, name);
        await link(real, target);
        const prev = result.files.get(posix.normalize(to));
        if (prev) result.files.set(name, prev);
        stream.resume();
        return;
      }
      default:
        throw new ArtefactError(ref, `tar entry ${name} is a ${header.type}; only files, directories and links are unpacked`);
    }
  };
  extract.on('entry', (header, stream, next) => {
    // Destroying the extractor also errors the entry stream; the pipeline reports it once.
    stream.on('error', () => {});
    writeEntry(header, stream as unknown as Readable).then(() => next(), (err) => {
      stream.resume();
      extract.destroy(err as Error);
    });
  });
  await pipeline(input, extract, { signal });
  return result;
}

/** The parent dir, after following any links created so far, is still under the root. */
async function ensureInside(ref: string, realRoot: string, path: string, name: string) {
  const real = await realpath(path);
  if (!inside(realRoot, real)) throw new ArtefactError(ref, `tar entry ${name} would be written through a link outside the archive; refusing to unpack`);
}

/**
 * Writes a stream to a new file, counting and hashing it. 'wx': never follows or overwrites what
 * is already there (a link planted by an earlier tar entry).
 */
export async function writeFileFrom(input: Readable, target: string, signal: AbortSignal, mode = 0o600): Promise<UnpackedFile> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(input, tap, createWriteStream(target, { flags: 'wx', mode }), { signal });
  return { sha256: hash.digest('hex'), size };
}

export async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isDirectory() ?? false;
}

export const relativeTo = (root: string, path: string) => relative(root, path).split(sep).join('/');
export const discard = () => new Writable({ write: (_c, _e, cb) => cb() });
