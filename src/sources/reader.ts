import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { EnvironmentError, RestoreproofError, errorMessage } from '../errors.ts';

/** One file of a source; `key` is '/'-separated and relative to the source root. */
export interface SourceEntry {
  key: string;
  size: number;
  mtimeMs: number;
}

/** What the fetch phase needs from any backup location: list, stat, read from an offset. */
export interface SourceReader {
  /** For messages and evidence: never with credentials. */
  readonly url: string;
  /** Files under `prefix` (a key prefix ending in / or empty), at most `depth` segments below it when given. */
  list(prefix: string, depth?: number): Promise<SourceEntry[]>;
  stat(key: string): Promise<SourceEntry | undefined>;
  /** A stream of the object from byte `start` on. */
  open(key: string, start: number): Promise<Readable>;
  /** Small text files (sidecars); undefined when absent. */
  readText(key: string): Promise<string | undefined>;
  /** S3 sources: a time-limited GET URL for one object, so a pod can fetch it without credentials. */
  presign?(key: string, seconds: number): Promise<string>;
  /** Local sources: the file itself, so nothing needs downloading. */
  localPath?(key: string): string;
  close(): Promise<void>;
}

export const joinKey = (base: string, key: string) => (base && key ? `${base.replace(/\/$/, '')}/${key.replace(/^\//, '')}` : base || key);

/** A directory on this machine. Opened read-only. */
export function localReader(root: string): SourceReader {
  const abs = resolve(root);
  const pathOf = (key: string) => (key ? join(abs, ...key.split('/')) : abs);
  return {
    url: abs,
    async list(prefix, depth) {
      const out: SourceEntry[] = [];
      const walk = async (rel: string, left: number | undefined) => {
        let names: string[];
        try {
          names = (await readdir(pathOf(rel))).sort();
        } catch {
          return;
        }
        for (const name of names) {
          const key = rel ? `${rel.replace(/\/$/, '')}/${name}` : name;
          const info = await stat(pathOf(key)).catch(() => undefined);
          if (!info) continue;
          if (info.isDirectory()) {
            if (left === undefined || left > 1) await walk(key, left === undefined ? undefined : left - 1);
          } else if (info.isFile()) out.push({ key, size: info.size, mtimeMs: info.mtimeMs });
        }
      };
      await walk(prefix.replace(/\/$/, ''), depth);
      return out;
    },
    async stat(key) {
      const info = await stat(pathOf(key)).catch(() => undefined);
      return info?.isFile() ? { key, size: info.size, mtimeMs: info.mtimeMs } : undefined;
    },
    async open(key, start) {
      return createReadStream(pathOf(key), { start });
    },
    async readText(key) {
      return readFile(pathOf(key), 'utf8').catch(() => undefined);
    },
    localPath: pathOf,
    async close() {},
  };
}

const unreachableCodes = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|InvalidToken)$/;

/**
 * A remote source that does not answer, or refuses the credentials, means the drill could not run
 * (exit 3); anything else (an object that is not there) stays what it was.
 */
export function sourceFailure(display: string, err: unknown, hint: string): unknown {
  if (err instanceof RestoreproofError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  const message = errorMessage(err);
  if (!unreachableCodes.test(code) && !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|timed out/i.test(message)) return err;
  return new EnvironmentError('E_SOURCE_UNREACHABLE', `${display}: ${code && !message.includes(code) ? `${code}: ` : ''}${message || 'no answer'}`, { hint });
}
