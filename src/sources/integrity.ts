import { readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ArtefactError } from '../errors.ts';
import type { ArtefactSourceSpec } from '../drill/types.ts';
import type { SourceReader } from './reader.ts';

export interface ExpectedDigest {
  sha256: string;
  /** Where the expected value comes from: `drill`, or the sidecar's key. */
  from: string;
}

const hex64 = /^[0-9a-f]{64}$/i;

/** `sha256sum` output: `<hex>  <name>` or `<hex> *<name>`; a bare hex line names the file it sits beside. */
export function parseSums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64})(?:\s+\*?(.+))?$/.exec(line.trim());
    if (m) out.set((m[2] ?? '').replace(/^\.\//, ''), m[1]!.toLowerCase());
  }
  return out;
}

/** The sha256 the drill expects for `key`, before anything is decrypted or restored. */
export async function expectedDigest(spec: ArtefactSourceSpec, reader: SourceReader, key: string, ref: string): Promise<ExpectedDigest | undefined> {
  const want = spec.sha256;
  if (want === undefined) return undefined;
  if (typeof want === 'string') {
    if (!hex64.test(want)) throw new ArtefactError(ref, `sha256 "${want}" is not 64 hex digits`);
    return { sha256: want.toLowerCase(), from: 'drill' };
  }
  const dir = key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '';
  const name = posix.basename(key);
  const tries = 'sums' in want ? [`${dir}${want.sums}`] : [`${key}.sha256`, `${dir}SHA256SUMS`];
  for (const sidecar of tries) {
    const text = await reader.readText(sidecar);
    if (text === undefined) continue;
    const sums = parseSums(text);
    const digest = sums.get(name) ?? sums.get(key) ?? (sidecar.endsWith('.sha256') ? (sums.get('') ?? [...sums.values()][0]) : undefined);
    if (digest) return { sha256: digest, from: sidecar };
    throw new ArtefactError(ref, `${sidecar} has no sha256 for ${name}`, 'the sums file must list the artefact by its file name');
  }
  throw new ArtefactError(ref, `no sha256 sidecar for ${key} (looked for ${tries.join(', ')})`, 'write one with `sha256sum FILE > FILE.sha256` next to the backup, or give sha256 in the drill');
}

export function checkDigest(ref: string, actual: string, expected: ExpectedDigest | undefined, size: number, expectedSize?: number): void {
  if (expectedSize !== undefined && size !== expectedSize) throw new ArtefactError(ref, `size mismatch: ${size} bytes, expected ${expectedSize}`, 'the backup is incomplete or not the one the drill names');
  if (expected && actual !== expected.sha256) {
    throw new ArtefactError(ref, `checksum mismatch: sha256 ${actual}, expected ${expected.sha256} (from ${expected.from})`, 'the backup was altered or damaged in transit; nothing was restored');
  }
}

/**
 * A bundle's own list of its files (a MANIFEST.json or a SHA256SUMS inside it), checked file by
 * file against the digests computed while unpacking. Missing, extra and altered files all fail.
 */
export async function verifyBundle(ref: string, root: string, listFile: string, kind: 'manifest' | 'sums', files: Map<string, { sha256: string; size: number }>): Promise<{ file: string; files: number }> {
  let text: string;
  try {
    text = await readFile(join(root, listFile), 'utf8');
  } catch {
    throw new ArtefactError(ref, `the bundle has no ${listFile}`, `the drill says the bundle is anchored by ${listFile}`);
  }
  const expected = new Map<string, { sha256: string; size?: number }>();
  if (kind === 'sums') {
    for (const [name, sha256] of parseSums(text)) expected.set(name, { sha256 });
  } else {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ArtefactError(ref, `${listFile} is not JSON (${(err as Error).message})`);
    }
    const list = (doc as { files?: unknown }).files ?? doc;
    if (Array.isArray(list)) {
      for (const f of list as { path?: string; name?: string; sha256?: string; size?: number }[]) {
        const name = f.path ?? f.name;
        if (name && f.sha256) expected.set(name.replace(/^\.\//, ''), { sha256: f.sha256.toLowerCase(), ...(f.size !== undefined ? { size: f.size } : {}) });
      }
    } else if (list && typeof list === 'object') {
      for (const [name, v] of Object.entries(list as Record<string, unknown>)) {
        const entry = typeof v === 'string' ? { sha256: v } : (v as { sha256?: string; size?: number });
        if (entry?.sha256 && hex64.test(entry.sha256)) expected.set(name.replace(/^\.\//, ''), { sha256: entry.sha256.toLowerCase(), ...(entry.size !== undefined ? { size: entry.size } : {}) });
      }
    }
  }
  if (expected.size === 0) throw new ArtefactError(ref, `${listFile} lists no files with a sha256`);
  const problems: string[] = [];
  for (const [name, want] of expected) {
    const got = files.get(name);
    if (!got) problems.push(`${name} is listed in ${listFile} but missing`);
    else if (got.sha256 !== want.sha256) problems.push(`${name}: sha256 ${got.sha256}, ${listFile} says ${want.sha256}`);
    else if (want.size !== undefined && got.size !== want.size) problems.push(`${name}: ${got.size} bytes, ${listFile} says ${want.size}`);
  }
  for (const name of files.keys()) if (name !== listFile && !expected.has(name)) problems.push(`${name} is not listed in ${listFile}`);
  if (problems.length) throw new ArtefactError(ref, `bundle verification failed: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`);
  return { file: listFile, files: expected.size };
}
