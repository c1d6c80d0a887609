import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Bytes read at a time: a file no larger is read into a buffer of its own size. */
const READ_CHUNK = 256 * 1024;

/**
 * Reads the file through one buffer, reused for every read: never holds the file in memory, and
 * leaves no chunk behind for the garbage collector (a read stream allocates a new 64 KiB Buffer a
 * read, which for a mirror's thousands of small files grew RSS with the data).
 */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(READ_CHUNK, (await file.stat()).size)));
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
