// Sequential, bounded-memory reading of an artefact for the offline inventory: the file is
// streamed (and gunzipped on the fly when it starts with the gzip magic); the parsers pull exact
// byte counts and skip over bulk data without ever holding more than one chunk and the small
// structure being decoded.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ArtefactError } from '../errors.ts';
import { inspectLocalArtefact } from '../sources/local.ts';

/** The input ended before `wanted` bytes starting at `start` could be read (`got` of them were). */
export class EndOfInput extends Error {
  readonly start: number;
  readonly got: number;
  readonly wanted: number;
  constructor(start: number, got: number, wanted: number) {
    super(`input ends at offset ${start + got}, ${wanted - got} bytes short of the ${wanted} bytes starting at offset ${start}`);
    this.start = start;
    this.got = got;
    this.wanted = wanted;
  }
}

/** The decompressor or the file itself failed (corrupt gzip data, I/O error). */
export class SourceError extends Error {
  readonly offset: number;
  constructor(offset: number, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.offset = offset;
  }
}

const empty = Buffer.alloc(0);

/** A forward-only cursor over chunks; `offset` counts bytes of the (decompressed) stream. */
export class ByteCursor {
  readonly #iterator: AsyncIterator<unknown>;
  #chunk: Buffer = empty;
  #pos = 0;
  #base = 0;
  #ended = false;

  constructor(source: AsyncIterable<unknown>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  get offset(): number {
    return this.#base + this.#pos;
  }

  get buffered(): number {
    return this.#chunk.length - this.#pos;
  }

  /** Replaces the (fully consumed) chunk by the next one; false at the end of the input. */
  async #next(): Promise<boolean> {
    if (this.#ended) return false;
    let result: IteratorResult<unknown>;
    try {
      result = await this.#iterator.next();
    } catch (err) {
      this.#ended = true;
      throw new SourceError(this.offset, err);
    }
    this.#base += this.#chunk.length;
    this.#pos = 0;
    if (result.done) {
      this.#chunk = empty;
      this.#ended = true;
      return false;
    }
    const value = result.value;
    this.#chunk = Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
    return true;
  }

  /** `n` bytes if they are already buffered (no copy), else undefined. */
  takeBuffered(n: number): Buffer | undefined {
    if (this.buffered < n) return undefined;
    const out = this.#chunk.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** Exactly `n` bytes; throws EndOfInput if the input ends first. */
  async read(n: number): Promise<Buffer> {
    const direct = this.takeBuffered(n);
    if (direct) return direct;
    const start = this.offset;
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      if (this.buffered === 0 && !(await this.#next())) throw new EndOfInput(start, filled, n);
      const m = Math.min(n - filled, this.buffered);
      this.#chunk.copy(out, filled, this.#pos, this.#pos + m);
      this.#pos += m;
      filled += m;
    }
    return out;
  }

  /** Passes `n` bytes to `sink` piecewise, without copying or accumulating them. */
  async skip(n: number, sink?: (piece: Buffer) => void): Promise<void> {
    const start = this.offset;
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.#next())) throw new EndOfInput(start, n - left, n);
      const m = Math.min(left, this.buffered);
      sink?.(this.#chunk.subarray(this.#pos, this.#pos + m));
      this.#pos += m;
      left -= m;
    }
  }

  /** True when every byte has been consumed. */
  async atEnd(): Promise<boolean> {
    return this.buffered === 0 && !(await this.#next());
  }

  /** Stops reading and releases the underlying stream. */
  async close(): Promise<void> {
    this.#ended = true;
    await this.#iterator.return?.();
  }
}

export interface OpenedArtefact {
  path: string;
  compressed: boolean;
  /** The first bytes after decompression. */
  head: Buffer;
  cursor: ByteCursor;
}

/**
 * Opens a local artefact for sequential reading: missing, unreadable, non-regular and empty files
 * are ArtefactErrors; gzip is detected by its magic bytes and decompressed as it streams.
 */
export async function openArtefactStream(path: string, options: { highWaterMark?: number } = {}): Promise<OpenedArtefact> {
  const info = await inspectLocalArtefact(path, process.cwd(), { hash: false });
  const file = createReadStream(info.path, options.highWaterMark ? { highWaterMark: options.highWaterMark } : {});
  // pipeline() destroys every stage when one fails or the consumer stops early, so no descriptor leaks.
  const stream = info.compression === 'gzip' ? pipeline(file, createGunzip(), () => {}) : file;
  return { path, compressed: info.compression === 'gzip', head: info.head, cursor: new ByteCursor(stream) };
}

/**
 * What the artefact parsers share: the cursor, and errors that name the format, the offset (in
 * the decompressed stream) and what was being read (`where`, kept up to date by the parser).
 */
export abstract class StreamParser {
  protected readonly cursor: ByteCursor;
  protected readonly path: string;
  protected readonly compressed: boolean;
  protected where: string;
  readonly #format: string;
  readonly #hint: string;

  constructor(cursor: ByteCursor, source: { path: string; compressed: boolean }, format: string, hint: string, where: string) {
    this.cursor = cursor;
    this.path = source.path;
    this.compressed = source.compressed;
    this.#format = format;
    this.#hint = hint;
    this.where = where;
  }

  protected at(offset: number): string {
    return `offset ${offset}${this.compressed ? ' (decompressed)' : ''}`;
  }

  /** The artefact is corrupt at `offset`. */
  protected fail(offset: number, message: string): ArtefactError {
    return new ArtefactError(this.path, `corrupt ${this.#format} at ${this.at(offset)} in ${this.where}: ${message}`, this.#hint);
  }

  /** The artefact ended, at a boundary, before everything it announced. */
  protected truncated(offset: number, detail: string): ArtefactError {
    return new ArtefactError(this.path, `truncated ${this.#format}: it ends at ${this.at(offset)} ${detail}`, this.#hint);
  }

  /** Turns the cursor's low-level failures into an ArtefactError; other errors pass through. */
  explain(err: unknown): unknown {
    if (err instanceof EndOfInput) {
      return this.truncated(
        err.start + err.got,
        `in ${this.where}, ${err.wanted - err.got} bytes short of the ${err.wanted}-byte item that starts at offset ${err.start} (the file was cut short, or a length before it is corrupt)`,
      );
    }
    if (err instanceof SourceError) {
      const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
      return this.fail(err.offset, this.compressed && code?.startsWith('Z_') ? `the gzip stream is corrupt or truncated (${err.message})` : `cannot read the file (${err.message})`);
    }
    return err;
  }
}
