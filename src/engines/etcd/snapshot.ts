import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ArtefactError, errorMessage } from '../../errors.ts';
import { runTool } from '../../util/process.ts';

/** What `etcdctl snapshot status -w json` says of a snapshot. */
export interface SnapshotStatus {
  hash: number;
  revision: number;
  /** Keys of the snapshot's bolt database, etcd's own included (members, meta), not only the user's. */
  totalKey: number;
  totalSize: number;
}

/** `etcdctl snapshot save` appends the SHA-256 of the bolt database: the file is whole pages plus 32 bytes. */
const TRAILER = 32;

/**
 * Streams the snapshot and compares its SHA-256 trailer with the database before it, the check
 * `etcdctl snapshot restore` makes (`snapshot status` does not: a truncated file passes it).
 * Returns the whole file's sha256, for the evidence: the file is not read again for it.
 */
export async function checkSnapshotTrailer(path: string, size: number, ref: string): Promise<string> {
  const hint = 'the file is not a whole `etcdctl snapshot save` output (truncated, or corrupted in transfer); take the snapshot again or copy it whole';
  // Bolt pages are at least 512 bytes, so a whole snapshot is a multiple of 512 plus the trailer.
  if (size < 512 + TRAILER || size % 512 !== TRAILER) throw new ArtefactError(ref, `is ${size} bytes, not an etcd snapshot's bolt pages plus its 32-byte SHA-256`, hint);
  const hash = createHash('sha256');
  const whole = createHash('sha256');
  const trailer: Buffer[] = [];
  let read = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    const dataPart = Math.max(0, Math.min(chunk.length, size - TRAILER - read));
    hash.update(chunk.subarray(0, dataPart));
    trailer.push(chunk.subarray(dataPart));
    read += chunk.length;
  }
  if (read !== size) throw new ArtefactError(ref, `changed while it was read (${read} bytes, ${size} expected)`);
  if (!hash.digest().equals(Buffer.concat(trailer))) throw new ArtefactError(ref, 'fails its integrity check: the SHA-256 at its end does not match its contents', hint);
  return whole.digest('hex');
}

/** `etcdctl snapshot status`: the snapshot's hash, revision and keys; an ArtefactError when etcdctl cannot read it. */
export async function snapshotStatus(etcdctl: string, path: string, ref: string, signal?: AbortSignal): Promise<SnapshotStatus> {
  const run = await runTool({ command: etcdctl, args: ['snapshot', 'status', path, '-w', 'json'], env: { ETCDCTL_API: '3' }, captureStdout: true, ...(signal ? { signal } : {}) });
  if (run.exitCode !== 0) throw new ArtefactError(ref, `etcdctl snapshot status cannot read it: ${run.stderr.trim().split('\n').at(-1) ?? `exit ${run.exitCode}`}`);
  try {
    const status = JSON.parse(run.stdout) as SnapshotStatus;
    if (!Number.isInteger(status.revision)) throw new Error('no revision');
    return status;
  } catch (err) {
    throw new ArtefactError(ref, `etcdctl snapshot status printed no status (${errorMessage(err)})`);
  }
}
