import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, utimes } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ArtefactError, RestoreproofError, errorMessage } from '../errors.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { OpensslDecryptSpec } from '../drill/types.ts';
import { sha256File } from '../util/hash.ts';
import { ageDecrypt, decryptError, opensslDecrypt } from './decrypt.ts';
import { checkDigest, expectedDigest, verifyBundle } from './integrity.ts';
import type { FetchContext, Resolved } from './locate.ts';
import { podFetch } from './pod-fetch.ts';
import type { SourceRecord, StagedArtefact } from './staging.ts';
import { download, needsProcessing } from './transfer.ts';
import { byteLimit, compressionOf, decompressor, defaultLimits, parseSize, peek, untar, writeFileFrom, type Limits, type UnpackedFile } from './unpack.ts';

/** One chosen artefact into the staging dir: downloaded (or read in place), verified, decrypted and unpacked. */
export async function materialise(r: Resolved, ctx: FetchContext): Promise<StagedArtefact> {
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

function prefixes(key: string): string[] {
  const parts = key.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
