import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { ArtefactError } from '../errors.ts';
import { sha256File } from '../util/hash.ts';

export type Compression = 'none' | 'gzip';

export interface ArtefactInfo {
  /** As written in the drill. */
  ref: string;
  path: string;
  size: number;
  sha256: string;
  modifiedAt: string;
  compression: Compression;
  /** The first bytes after decompression, for format detection. */
  head: Buffer;
}

/** Reads a local backup artefact without modifying it: size, sha256 (streamed), compression and header bytes. */
export async function inspectLocalArtefact(ref: string, baseDir: string, options: { hash?: boolean } = {}): Promise<ArtefactInfo> {
  const path = resolve(baseDir, ref);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ArtefactError(ref, code === 'ENOENT' ? `backup artefact not found at ${path}` : `cannot read ${path} (${code})`, 'check the artefact path; relative paths are resolved from the drill file');
  }
  if (!info.isFile()) throw new ArtefactError(ref, `${path} is not a regular file`);
  if (info.size === 0) throw new ArtefactError(ref, `${path} is empty`);
  const raw = await readHead(path, 512);
  const compression: Compression = raw[0] === 0x1f && raw[1] === 0x8b ? 'gzip' : 'none';
  const head = compression === 'gzip' ? await gunzipHead(path, 512) : raw;
  return { ref, path, size: info.size, sha256: options.hash === false ? '' : await sha256File(path), modifiedAt: info.mtime.toISOString(), compression, head };
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

/** Opens the artefact for streaming, decompressing on the fly. */
export function openArtefact(info: Pick<ArtefactInfo, 'path' | 'compression'>) {
  const file = createReadStream(info.path);
  return info.compression === 'gzip' ? file.pipe(createGunzip()) : file;
}
