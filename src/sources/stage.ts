import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, statfs, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { ArtefactError, RestoreproofError, errorMessage } from '../errors.ts';
import type { ResourceRecord } from '../runtimes/types.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { ArtefactSourceSpec, OpensslDecryptSpec } from '../drill/types.ts';
import { parseDuration } from '../util/duration.ts';
import { sha256File } from '../util/hash.ts';
import { registerSecret } from '../util/redact.ts';
import type { ArtefactInfo } from './local.ts';
import { ageDecrypt, decryptError, opensslDecrypt } from './decrypt.ts';
import { checkDigest, expectedDigest, verifyBundle } from './integrity.ts';
import { localReader, type SourceEntry, type SourceReader } from './reader.ts';
import { candidates, compilePattern, pickLatest, pickRandom, type Selection } from './select.ts';
import { byteLimit, compressionOf, decompressor, defaultLimits, parseSize, peek, untar, writeFileFrom, type Limits, type UnpackedFile } from './unpack.ts';

/** What the evidence records about a fetched artefact (report ArtefactRecord.source). */
export interface SourceRecord {
  url: string;
  object: string;
  kind: 'file' | 'directory';
  size: number;
  /** Digest of the object as stored (before decryption); directories: of the `path\tsize\tsha256` listing. */
  sha256: string;
  /** `mismatch` only for fetch: pod, whose record exists before the pod's digest is checked. */
  integrity: { sha256: 'verified' | 'not-checked' | 'mismatch'; from?: string; size: 'verified' | 'not-checked' | 'mismatch' };
  downloaded: boolean;
  /** `pod`: the store's pod downloaded it (fetch: pod); the digest was computed there. */
  fetchedBy?: 'harness' | 'pod';
  resumes?: number;
  decryption?: string;
  compression?: string;
  unpacked?: { entries: number; bytes: number; member?: string; verifiedBy?: string; files?: number };
}

export interface StagedArtefact {
  store: string;
  step: number;
  /** The source and chosen object, for messages and the report (never credentials). */
  ref: string;
  /** The local path the engine restores (`fetch: pod`: the path inside the store's pod). */
  path: string;
  /** `fetch: pod`: what the engine sees instead of a local file. */
  info?: ArtefactInfo;
  source: SourceRecord;
  selection: Selection;
  encryptionKeyId?: string;
}

export interface FetchJob {
  store: string;
  step: number;
  spec: ArtefactSourceSpec;
}

/** The run-owned staging dir: created on first use, removed at teardown whatever happened. */
export class Staging {
  readonly runId: string;
  dir: string | undefined;
  constructor(runId: string) {
    this.runId = runId;
  }
  async ensure(): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), `restoreproof-${this.runId}-staging-`));
    return this.dir;
  }
  async remove(): Promise<ResourceRecord | undefined> {
    if (!this.dir) return undefined;
    const record: ResourceRecord = { kind: 'directory', id: this.dir };
    try {
      await rm(this.dir, { recursive: true, force: true });
      record.removed = true;
    } catch (err) {
      record.removed = false;
      record.error = errorMessage(err);
    }
    return record;
  }
}

interface Resolved {
  job: FetchJob;
  reader: SourceReader;
  ref: string;
  key: string;
  kind: 'file' | 'directory';
  entries: SourceEntry[];
  selection: Selection;
}

export interface FetchContext {
  runId: string;
  drillDir: string;
  signal: AbortSignal;
  staging: Staging;
}

/**
 * The fetch phase: selects every artefact, checks staging space, downloads (resuming), verifies
 * integrity, then decrypts and unpacks as streams. Throws an ArtefactError naming the artefact.
 */
export async function fetchArtefacts(jobs: FetchJob[], ctx: FetchContext): Promise<StagedArtefact[]> {
  const readers: SourceReader[] = [];
  try {
    const resolved: Resolved[] = [];
    for (const job of jobs) resolved.push(await resolveJob(job, ctx, readers));
    await checkSpace(resolved, ctx);
    const out: StagedArtefact[] = [];
    for (const r of resolved) out.push(await materialise(r, ctx));
    return out;
  } finally {
    await Promise.allSettled(readers.map((r) => r.close()));
  }
}

/**
 * The preflight's look at one source: connects, lists and selects the artefact exactly as the fetch
 * phase will (the newest dated folder included), and downloads nothing.
 */
export async function locateArtefact(job: FetchJob, ctx: Omit<FetchContext, 'staging'>): Promise<{ ref: string; key: string; kind: 'file' | 'directory'; size: number; reason: string }> {
  const readers: SourceReader[] = [];
  try {
    const r = await resolveJob(job, { ...ctx, staging: new Staging(ctx.runId) }, readers);
    return { ref: r.ref, key: r.key, kind: r.kind, size: r.entries.reduce((n, e) => n + e.size, 0), reason: r.selection.reason };
  } finally {
    await Promise.allSettled(readers.map((r) => r.close()));
  }
}

function splitParent(path: string): [string, string] {
  const clean = path.replace(/\/+$/, '');
  const i = clean.lastIndexOf('/');
  return i < 0 ? ['', clean] : [clean.slice(0, i) || '/', clean.slice(i + 1)];
}

async function openReader(spec: ArtefactSourceSpec, rootOf: (path: string) => string, ctx: FetchContext): Promise<SourceReader> {
  const source = spec.source;
  if (/^s3:\/\//i.test(source)) {
    const url = new URL(source);
    url.pathname = rootOf(url.pathname);
    // Remote readers load on first use (ssh2 alone is ~20 MiB).
    return (await import('./s3.ts')).s3Reader(url, spec, ctx.drillDir);
  }
  if (/^sftp:\/\//i.test(source)) {
    const url = new URL(source);
    url.pathname = rootOf(decodeURIComponent(url.pathname));
    return (await import('./sftp.ts')).sftpReader(url, spec, ctx.drillDir, ctx.signal);
  }
  const local = /^file:\/\//i.test(source) ? new URL(source).pathname : resolve(ctx.drillDir, source);
  return localReader(rootOf(local) || '/');
}

async function resolveJob(job: FetchJob, ctx: FetchContext, readers: SourceReader[]): Promise<Resolved> {
  const { spec } = job;
  const select = spec.select;
  const sourcePath = /^(s3|sftp|file):\/\//i.test(spec.source) ? decodeURIComponent(new URL(spec.source).pathname) : spec.source;
  // Without select the source names the artefact itself: read its parent, pick its name.
  const [, name] = splitParent(sourcePath);
  const reader = await openReader(spec, (p) => (select ? p : splitParent(p)[0]), ctx);
  readers.push(reader);
  const display = spec.source.replace(/^([a-z0-9]+:\/\/[^:@/]*):[^@/]*@/i, '$1@').replace(/\/+$/, '');
  const refOf = (key: string) => (select ? `${display}/${key}` : display);
  const located = async (key: string, selection: Selection): Promise<Resolved> => {
    const ref = refOf(key);
    if (!key.endsWith('/')) {
      const entry = await reader.stat(key);
      if (entry) return { job, reader, ref, key, kind: 'file', entries: [entry], selection };
    }
    const dirKey = key.replace(/\/$/, '');
    const entries = (await reader.list(dirKey ? `${dirKey}/` : '')).map((e) => ({ ...e, key: e.key.slice(dirKey ? dirKey.length + 1 : 0) }));
    if (entries.length) return { job, reader, ref, key: dirKey, kind: 'directory', entries, selection };
    if (/^s3:/i.test(spec.source)) throw new ArtefactError(ref, `no objects at ${ref}`, 'check the bucket, the prefix, the endpoint and the credentials');
    throw new ArtefactError(ref, `backup artefact not found at ${ref}`, 'check the source and the selection');
  };

  if (!select) return located(name, { method: 'explicit', chosen: name, reason: 'named by the drill' });
  if (select.explicit) return located(select.explicit, { method: 'explicit', chosen: select.explicit, reason: 'named by the drill' });

  const patternText = select.latest ?? select.pattern;
  if (!patternText) throw new ArtefactError(spec.source, 'select needs latest, explicit, or random-within with pattern');
  let pattern;
  try {
    pattern = compilePattern(patternText);
  } catch (err) {
    throw new ArtefactError(spec.source, errorMessage(err));
  }
  const by = select.by ?? (pattern.hasDate ? 'date' : 'mtime');
  // A folder pattern (a dated mirror) is recognised by the files below it, at any depth.
  const listed = await reader.list(pattern.fixedPrefix, pattern.directory ? undefined : pattern.depth - pattern.fixedPrefix.split('/').length + 1);
  const base = refOf('');
  if (select.latest) {
    // A dated folder layout: the newest folder decides; a store missing from it is an error,
    // not a silent fall-back to an older night.
    const cut = patternText.replace(/\/$/, '').lastIndexOf('/');
    const folderPattern = cut > 0 ? patternText.slice(0, cut + 1) : undefined;
    if (by === 'date' && folderPattern && /\{date:/.test(folderPattern) && !pattern.directory) {
      const folders = candidates(compilePattern(folderPattern), listed, 'date');
      const newest = pickLatest(folders);
      if (!newest) throw new ArtefactError(`${base}${patternText}`, `no dated folder matching ${folderPattern} under ${base}`, `found ${describeListing(listed)}`);
      const inFolder = candidates(pattern, listed.filter((e) => e.key.startsWith(newest.key)), by);
      const chosen = pickLatest(inFolder);
      if (!chosen) throw new ArtefactError(`${base}${patternText}`, `the newest dated folder ${newest.key} has no file matching ${patternText.slice(cut + 1)}`, 'the backup of this store is missing from the latest night; older folders are not used silently');
      return located(chosen.key, { method: 'latest', by, pattern: patternText, candidates: folders.length, chosen: chosen.key, reason: `newest of ${folders.length} dated folder(s) matching ${folderPattern} (${new Date(newest.time).toISOString().slice(0, 19)}Z)` });
    }
    const list = candidates(pattern, listed, by);
    const chosen = pickLatest(list);
    if (!chosen) throw new ArtefactError(`${base}${patternText}`, `nothing matches ${patternText} under ${base}`, `found ${describeListing(listed)}`);
    return located(chosen.key, { method: 'latest', by, pattern: patternText, candidates: list.length, chosen: chosen.key, reason: `newest of ${list.length} match(es) by ${by === 'date' ? 'the date in the name' : 'modification time'} (${new Date(chosen.time).toISOString()})` });
  }
  const window = select['random-within']!;
  const since = Date.now() - parseDuration(window);
  const list = candidates(pattern, listed, by).filter((c) => c.time >= since);
  const seed = select.seed ?? ctx.runId;
  const chosen = pickRandom(list, seed);
  if (!chosen) throw new ArtefactError(`${base}${patternText}`, `nothing matching ${patternText} under ${base} is within ${window}`, `found ${describeListing(listed)}`);
  return located(chosen.key, { method: 'random', by, pattern: patternText, window, seed, candidates: list.length, chosen: chosen.key, reason: `picked with seed ${seed} among ${list.length} match(es) from the last ${window}` });
}

function describeListing(entries: SourceEntry[]): string {
  if (entries.length === 0) return 'nothing there';
  const names = [...new Set(entries.map((e) => e.key.split('/')[0]!))].sort();
  return `${names.slice(-5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
}

/** Remote bytes land in the staging dir: check the space before the first download. */
async function checkSpace(resolved: Resolved[], ctx: FetchContext) {
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

function needsProcessing(r: Resolved): boolean {
  const s = r.job.spec;
  return r.kind === 'file' && (Boolean(s.decrypt) || Boolean(s.unpack) || /\.(tar|tgz|tar\.gz|tar\.zst|zst)(\.enc)?$/i.test(r.key));
}

async function materialise(r: Resolved, ctx: FetchContext): Promise<StagedArtefact> {
  const { job, reader, ref } = r;
  const spec = job.spec;
  const limits: Limits = {
    maxBytes: spec.unpack?.maxBytes !== undefined ? parseSize(spec.unpack.maxBytes) : defaultLimits.maxBytes,
    maxEntries: spec.unpack?.maxEntries ?? defaultLimits.maxEntries,
  };
  const base = { store: job.store, step: job.step, ref, selection: r.selection };
  const slot = `${job.store}-${job.step}`;

  if (spec.fetch === 'pod') return podFetch(r, base, slot);

  if (r.kind === 'directory') {
    // A mirror (a dated prefix of `mc mirror`, a folder on the backup server).
    const files = new Map<string, UnpackedFile>();
    let path: string;
    let resumes = 0;
    if (reader.localPath) {
      path = reader.localPath(r.key);
      for (const e of r.entries) files.set(e.key, { sha256: await sha256File(join(path, ...e.key.split('/'))), size: e.size });
    } else {
      path = join(await ctx.staging.ensure(), slot);
      for (const e of r.entries) {
        const target = join(path, ...e.key.split('/'));
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        const d = await download(reader, r.key ? `${r.key}/${e.key}` : e.key, e.size, target, ref, ctx.signal);
        resumes += d.resumes;
        files.set(e.key, { sha256: d.sha256, size: d.size });
        await utimes(target, new Date(), new Date(e.mtimeMs));
      }
    }
    const listing = createHash('sha256');
    for (const k of [...files.keys()].sort()) listing.update(`${k}\t${files.get(k)!.size}\t${files.get(k)!.sha256}\n`);
    const list = spec.unpack?.manifest ?? spec.unpack?.sums;
    const verified = list ? await verifyBundle(ref, path, list, spec.unpack?.manifest ? 'manifest' : 'sums', files) : undefined;
    return {
      ...base, path,
      source: {
        url: reader.url, object: r.key, kind: 'directory', size: r.entries.reduce((n, e) => n + e.size, 0), sha256: listing.digest('hex'),
        integrity: { sha256: verified ? 'verified' : 'not-checked', ...(verified ? { from: verified.file } : {}), size: 'verified' }, downloaded: !reader.localPath, ...(resumes ? { resumes } : {}),
        ...(verified ? { unpacked: { entries: files.size, bytes: [...files.values()].reduce((n, f) => n + f.size, 0), verifiedBy: verified.file, files: verified.files } } : {}),
      },
    };
  }

  // One file: fetch (or read in place), verify, then decrypt and unpack.
  const entry = r.entries[0]!;
  const expected = await expectedDigest(spec, reader, r.key, ref);
  let file: string;
  let digest: string;
  let size: number;
  let resumes = 0;
  if (reader.localPath) {
    file = reader.localPath(r.key);
    digest = await sha256File(file);
    size = entry.size;
  } else {
    const dir = join(await ctx.staging.ensure(), `${slot}.download`);
    await mkdir(dir, { mode: 0o700 });
    file = join(dir, posix.basename(r.key));
    const d = await download(reader, r.key, entry.size, file, ref, ctx.signal);
    [digest, size, resumes] = [d.sha256, d.size, d.resumes];
    await utimes(file, new Date(), new Date(entry.mtimeMs));
  }
  checkDigest(ref, digest, expected, size, spec.size);
  const source: SourceRecord = {
    url: reader.url, object: r.key, kind: 'file', size, sha256: digest,
    integrity: { sha256: expected ? 'verified' : 'not-checked', ...(expected ? { from: expected.from } : {}), size: spec.size !== undefined || !reader.localPath ? 'verified' : 'not-checked' },
    downloaded: !reader.localPath, ...(resumes ? { resumes } : {}),
  };
  if (!needsProcessing(r)) return { ...base, path: file, source };

  // Decrypt, decompress, unpack: one stream, nothing decrypted is held in memory.
  let input: Readable = createReadStream(file);
  let encryptionKeyId: string | undefined;
  let decipherStep: { spec: OpensslDecryptSpec } | { age: true } | undefined;
  if (spec.decrypt?.openssl) {
    const o = spec.decrypt.openssl;
    const passphrase = await resolveSecret(o.passphrase, ctx.drillDir, `${ref} decrypt.openssl.passphrase`);
    const d = await opensslDecrypt(file, size, o, passphrase, ref);
    input = d.stream.pipe(d.decipher);
    d.stream.on('error', (err) => d.decipher.destroy(err));
    encryptionKeyId = d.keyId;
    source.decryption = d.method;
    decipherStep = { spec: o };
  } else if (spec.decrypt?.age) {
    const a = spec.decrypt.age;
    const which = a.identity ? 'identity' : 'passphrase';
    const secret = await resolveSecret(a.identity ?? a.passphrase!, ctx.drillDir, `${ref} decrypt.age.${which}`);
    const d = await ageDecrypt(file, a, secret, ref);
    input = d.stream;
    encryptionKeyId = d.keyId;
    source.decryption = d.method;
    decipherStep = { age: true };
  }
  const wrap = (err: unknown): unknown => {
    if (err instanceof RestoreproofError) return err;
    if (decipherStep && 'age' in decipherStep && /invalid tag|final chunk|ciphertext/i.test(errorMessage(err))) {
      return new ArtefactError(ref, `cannot decrypt ${ref}: the age payload does not authenticate (${errorMessage(err)}): the file is truncated or was altered`, 'fetch it again or pick another backup');
    }
    if (decipherStep && 'spec' in decipherStep && /bad decrypt|wrong final block|DECRYPT|unable to decrypt/i.test(errorMessage(err))) return decryptError(ref, err, decipherStep.spec);
    if (decipherStep && /incorrect header check|invalid|unknown compression|Unknown frame descriptor|unexpected end|Z_DATA_ERROR/i.test(errorMessage(err))) {
      return new ArtefactError(ref, `cannot decrypt ${ref}: the decrypted data is not readable (${errorMessage(err)}); wrong passphrase or key derivation?`);
    }
    if ((err as Error)?.name === 'AbortError') return err;
    return new ArtefactError(ref, `cannot unpack: ${errorMessage(err)}`);
  };
  try {
    const first = await peek(input, 4);
    const compression = compressionOf(first.head);
    source.compression = compression;
    let plain: Readable = first.stream;
    const decompress = decompressor(compression);
    const limit = byteLimit(ref, limits.maxBytes, compression === 'none' ? 'plain' : `${compression}-compressed`);
    if (decompress) {
      plain.on('error', (err) => decompress.destroy(err));
      plain = plain.pipe(decompress);
    }
    plain.on('error', (err) => limit.destroy(err));
    plain = plain.pipe(limit);
    const sniff = await peek(plain, 512);
    const isTar = spec.unpack?.tar ?? sniff.head.subarray(257, 262).toString('latin1') === 'ustar';
    const out = join(await ctx.staging.ensure(), slot);
    await mkdir(out, { mode: 0o700 });
    if (!isTar) {
      const name = posix.basename(r.key).replace(/\.(enc|age)$/i, '').replace(/\.(gz|zst)$/i, '');
      const target = join(out, name);
      const f = await writeFileFrom(sniff.stream, target, ctx.signal);
      await utimes(target, new Date(), new Date(entry.mtimeMs));
      return { ...base, path: target, source: { ...source, unpacked: { entries: 1, bytes: f.size } }, ...(encryptionKeyId ? { encryptionKeyId } : {}) };
    }
    const result = await untar(ref, sniff.stream, out, limits, ctx.signal);
    const list = spec.unpack?.manifest ?? spec.unpack?.sums;
    const verified = list ? await verifyBundle(ref, out, list, spec.unpack?.manifest ? 'manifest' : 'sums', result.files) : undefined;
    let path = out;
    const member = spec.unpack?.member;
    if (member) {
      if (member.split('/').includes('..') || member.startsWith('/')) throw new ArtefactError(ref, `unpack.member ${member} must be a relative path inside the archive`);
      path = join(out, ...member.split('/'));
      const names = new Set([...result.files.keys()].flatMap((k) => [k, ...prefixes(k)]));
      if (!names.has(member.replace(/\/$/, ''))) throw new ArtefactError(ref, `the archive has no ${member}`, `it holds ${[...result.files.keys()].slice(0, 5).join(', ')}`);
    } else {
      const top = await readdir(out);
      if (top.length === 1) path = join(out, top[0]!);
    }
    await utimes(path, new Date(), new Date(entry.mtimeMs)).catch(() => {});
    return {
      ...base, path,
      source: { ...source, unpacked: { entries: result.entries, bytes: result.bytes, ...(member ? { member } : {}), ...(verified ? { verifiedBy: verified.file, files: verified.files } : {}) } },
      ...(encryptionKeyId ? { encryptionKeyId } : {}),
    };
  } catch (err) {
    input.destroy();
    throw wrap(err);
  }
}

/** Where a pod-fetched artefact lands in the store's pod (under the runtime's staging volume). */
const podFetchRoot = '/restoreproof/fetched';
const presignSeconds = 3600;

/**
 * `fetch: pod`: nothing is downloaded here. The harness reads the first bytes (format detection),
 * the expected digest and a presigned URL; the store's pod downloads the object and hashes it,
 * and the runtime checks that digest before any restore.
 */
async function podFetch(r: Resolved, base: Pick<StagedArtefact, 'store' | 'step' | 'ref' | 'selection'>, slot: string): Promise<StagedArtefact> {
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

/** Up to `bytes` from the start of an object (one request, closed early). */
async function readFirst(reader: SourceReader, key: string, bytes: number): Promise<Buffer> {
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

/** The evidence of a pod-fetched artefact once its pod has checked it (digest, size). */
export function podFetchedFields(info: ArtefactInfo, source: SourceRecord): void {
  const pod = info.fetchedInPod;
  if (!pod?.actual) return;
  const { actual, expected } = pod;
  source.sha256 = actual.sha256;
  source.integrity = {
    ...source.integrity,
    sha256: !expected ? 'not-checked' : expected.sha256 === actual.sha256 ? 'verified' : 'mismatch',
    size: actual.size === info.size ? 'verified' : 'mismatch',
  };
}

function prefixes(key: string): string[] {
  const parts = key.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
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

type StoresLike = Record<string, { restore: readonly object[] }>;

/** The steps whose `artefact` is an object (a source to fetch), in drill order. */
export function fetchJobsOf(stores: StoresLike): FetchJob[] {
  const jobs: FetchJob[] = [];
  for (const [store, spec] of Object.entries(stores)) {
    spec.restore.forEach((step, index) => {
      const artefact = (step as { artefact?: unknown }).artefact;
      if (artefact && typeof artefact === 'object') jobs.push({ store, step: index, spec: artefact as ArtefactSourceSpec });
    });
  }
  return jobs;
}

/** From here on the engines see a local path, exactly as if the drill had named it. */
export function applyStaged(stores: StoresLike, staged: StagedArtefact[]): void {
  for (const s of staged) (stores[s.store]!.restore[s.step] as { artefact: string }).artefact = s.path;
}

/** What the report's artefact record adds for a fetched artefact. */
export function stagedFields(staged: StagedArtefact[], store: string, step: number) {
  const s = staged.find((x) => x.store === store && x.step === step);
  if (!s) return {};
  const { chosen, ...rest } = s.selection;
  return { ref: s.ref, selection: { ...rest, chosen }, source: s.source, ...(s.encryptionKeyId ? { encryptionKeyId: s.encryptionKeyId } : {}) };
}
