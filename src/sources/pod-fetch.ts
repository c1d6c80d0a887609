import { posix } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { ArtefactError, errorMessage } from '../errors.ts';
import { registerSecret } from '../util/redact.ts';
import { expectedDigest } from './integrity.ts';
import type { ArtefactInfo } from './local.ts';
import type { Resolved } from './locate.ts';
import type { StagedArtefact } from './staging.ts';
import { readFirst } from './transfer.ts';
import { compressionOf } from './unpack.ts';

/** Where a pod-fetched artefact lands in the store's pod (under the runtime's staging volume). */
const podFetchRoot = '/restoreproof/fetched';
const presignSeconds = 3600;

/**
 * `fetch: pod`: nothing is downloaded here. The harness reads the first bytes (format detection),
 * the expected digest and a presigned URL; the store's pod downloads the object and hashes it,
 * and the runtime checks that digest before any restore.
 */
export async function podFetch(r: Resolved, base: Pick<StagedArtefact, 'store' | 'step' | 'ref' | 'selection'>, slot: string): Promise<StagedArtefact> {
  const { reader, ref, job } = r;
  if (r.kind === 'directory') throw new ArtefactError(ref, `fetch: pod fetches one object; ${ref} is a prefix with ${r.entries.length} object(s)`, 'select one file, or use fetch: harness');
  if (!reader.presign) throw new ArtefactError(ref, 'fetch: pod needs an s3:// source', 'use fetch: harness');
  const entry = r.entries[0]!;
  const expected = await expectedDigest(job.spec, reader, r.key, ref);
  const first = await readFirst(reader, r.key, 64 * 1024);
  const compression = compressionOf(first);
  if (compression === 'zstd') throw new ArtefactError(ref, 'is zstd-compressed; fetch: pod restores plain or gzip files', 'use fetch: harness');
  let head = first;
  if (compression === 'gzip') {
    // The first 4 KiB inflate as far as they go (sync flush): enough for format detection, and
    // bounded however well the data compresses.
    try {
      head = gunzipSync(first.subarray(0, 4096), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (err) {
      throw new ArtefactError(ref, `is not a readable gzip stream (${errorMessage(err)})`, 'check the object; a damaged backup cannot be restored');
    }
  }
  head = head.subarray(0, 512);
  const url = await reader.presign(r.key, presignSeconds);
  registerSecret(url);
  registerSecret(new URL(url).searchParams.get('X-Amz-Signature') ?? undefined);
  const path = posix.join(podFetchRoot, slot, posix.basename(r.key));
  const info: ArtefactInfo = {
    kind: 'file', ref, path, size: entry.size, sha256: expected?.sha256 ?? '', modifiedAt: new Date(entry.mtimeMs).toISOString(),
    compression: compression === 'gzip' ? 'gzip' : 'none', head, fetchedInPod: { url, ...(expected ? { expected } : {}) },
  };
  return {
    ...base, path, info,
    source: {
      url: reader.url, object: r.key, kind: 'file', size: entry.size, sha256: expected?.sha256 ?? '',
      integrity: { sha256: 'not-checked', ...(expected ? { from: expected.from } : {}), size: 'not-checked' },
      downloaded: false, fetchedBy: 'pod', compression,
    },
  };
}

/** Once the pod has the file: its digest and size against the source's, before any restore. */
export function checkPodFetch(info: ArtefactInfo, actual: { sha256: string; size: number }): void {
  const pod = info.fetchedInPod!;
  pod.actual = actual;
  if (actual.size !== info.size) throw new ArtefactError(info.ref, `the store's pod fetched ${actual.size} bytes; the source lists ${info.size}`, 'fetch it again; the object may have changed during the run');
  if (pod.expected && pod.expected.sha256 !== actual.sha256) {
    throw new ArtefactError(info.ref, `sha256 mismatch: the store's pod computed ${actual.sha256}, ${pod.expected.from} says ${pod.expected.sha256}`, 'the backup is corrupt or was altered; do not restore it');
  }
  info.sha256 = actual.sha256;
}
