import { createHash } from 'node:crypto';
import { open, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArtefactError, RestoreproofError, errorMessage } from '../errors.ts';
import type { Resolved, FetchContext } from './locate.ts';
import type { SourceReader } from './reader.ts';

/** Remote bytes land in the staging dir: check the space before the first download. */
export async function checkSpace(resolved: Resolved[], ctx: FetchContext) {
  const remote = resolved.filter((r) => !r.reader.localPath && r.job.spec.fetch !== 'pod');
  const processed = resolved.filter((r) => needsProcessing(r));
  const need = [...remote, ...processed].reduce((n, r) => n + r.entries.reduce((m, e) => m + e.size, 0), 0);
  if (need === 0) return;
  const dir = await ctx.staging.ensure();
  const fs = await statfs(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  if (need > free) {
    throw new RestoreproofError('E_STAGING_SPACE', `not enough space to stage ${resolved.map((r) => r.ref).join(', ')}: ${need} bytes needed (before unpacking), ${free} free in ${dirname(dir)}`, {
      hint: 'free space in the temp dir or point TMPDIR at a larger disk',
    });
  }
}

export function needsProcessing(r: Resolved): boolean {
  const s = r.job.spec;
  return r.kind === 'file' && (Boolean(s.decrypt) || Boolean(s.unpack) || /\.(tar|tgz|tar\.gz|tar\.zst|zst)(\.enc)?$/i.test(r.key));
}

/** Up to `bytes` from the start of an object (one request, closed early). */
export async function readFirst(reader: SourceReader, key: string, bytes: number): Promise<Buffer> {
  const stream = await reader.open(key, 0);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/**
 * Downloads into `target`, hashing as it writes. A broken transfer resumes from the bytes already
 * written (a ranged read), up to 3 times; a source that ignores the offset is caught by the size
 * and digest checks.
 */
export async function download(reader: SourceReader, key: string, expectedSize: number, target: string, ref: string, signal: AbortSignal): Promise<{ sha256: string; size: number; resumes: number }> {
  const hash = createHash('sha256');
  let written = 0;
  let resumes = 0;
  const out = await open(target, 'w', 0o600);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const stream = await reader.open(key, written);
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          signal.throwIfAborted();
          await out.write(chunk);
          hash.update(chunk);
          written += chunk.length;
        }
        if (written < expectedSize) throw new Error(`transfer ended after ${written} of ${expectedSize} bytes`);
        break;
      } catch (err) {
        if (signal.aborted) throw err;
        if (attempt >= 3) throw new ArtefactError(ref, `download of ${key} failed after ${resumes} resume(s): ${errorMessage(err)}`, 'check the connection to the backup source');
        resumes++;
      }
    }
  } finally {
    await out.close();
  }
  if (written !== expectedSize) throw new ArtefactError(ref, `download of ${key} returned ${written} bytes, the source lists ${expectedSize}`);
  return { sha256: hash.digest('hex'), size: written, resumes };
}
