// `COPY … TO STDOUT` read straight off the connection's socket, for reading a large table fast. The
// server sends each row as one CopyData message (protocol docs, "COPY Operations"), so rows are
// handed on as byte ranges of the socket's own buffers: no buffer, object or copy per row, and
// nothing read from the socket until the rows before it were taken (the socket's flow control is
// the bound). Only a message that straddles two reads is copied. The pg client's own parser is
// taken off the socket for the COPY and given back, with the bytes after it, at its end or at an
// error, as pg-copy-streams does; pg then reports the command's end or error to this query.
import type { Connection } from 'pg';

const copyData = 0x64; // 'd'
const copyOutResponse = 0x48; // 'H'
const errorResponse = 0x45; // 'E'
/** Messages the server may send in the middle of a COPY: skipped. */
const interspersed = new Set([copyOutResponse, copyData, 0x53 /* ParameterStatus */, 0x4e /* Notice */, 0x41 /* Notification */]);

/** Turns one row's bytes [start, end) of `buf`, its final newline included, into a row. */
export type RowParser<T> = (buf: Buffer, start: number, end: number) => T;

/** A pg submittable (`client.query(new CopyOut(sql))`): the rows come from `batches`, one socket read per batch. */
export class CopyOut {
  readonly text: string;
  private connection: Connection | undefined;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  private detached = false;
  /** An incomplete message carried from the previous read. */
  private pending: Buffer | undefined;
  private copyDone = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onReadable = () => this.wake?.();

  constructor(text: string) {
    this.text = text;
  }

  submit(connection: Connection): void {
    this.connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners('data') as ((chunk: Buffer) => void)[];
    if (listeners.length !== 1) throw new Error(`the connection's socket has ${listeners.length} data listeners, expected pg's one`);
    this.pgDataHandler = listeners[0]!;
    stream.removeListener('data', this.pgDataHandler);
    stream.pause();
    stream.on('readable', this.onReadable);
    stream.on('close', this.onReadable);
    connection.query(this.text);
  }

  /** Gives the socket back to pg's parser with the bytes not taken. */
  private detach(rest: Buffer | undefined): void {
    const connection = this.connection;
    if (!connection || this.detached) return;
    this.detached = true;
    const stream = connection.stream;
    stream.removeListener('readable', this.onReadable);
    stream.removeListener('close', this.onReadable);
    stream.on('data', this.pgDataHandler!);
    if (rest?.length) this.pgDataHandler!(rest);
    process.nextTick(() => stream.resume());
  }

  handleError(err: Error): void {
    this.error = err;
    this.wake?.();
  }

  handleCommandComplete(): void {}
  handleReadyForQuery(): void {}

  /**
   * The rows of each socket read, parsed by `parseRow` as they are taken; the next read waits until a
   * batch was taken. Ends after the last row; throws the server's error.
   */
  async *batches<T>(parseRow: RowParser<T>): AsyncGenerator<Iterable<T>> {
    const stream = this.connection?.stream;
    if (!stream) throw new Error('the COPY was not submitted to a connection');
    while (!this.copyDone) {
      if (this.error) throw this.error;
      // Once the socket is pg's again (an error message split across reads), only pg reads it.
      const chunk = this.detached ? null : (stream.read() as Buffer | null);
      if (chunk === null) {
        if (!this.detached && (stream.destroyed || stream.readableEnded)) throw new Error('the connection closed during COPY');
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      yield this.rows(chunk, parseRow);
    }
    // pg reports an error after the rows before it takes the next query.
    if (this.error) throw this.error;
  }

  /** Gives up the COPY: the socket goes back to pg, whose connection the caller then closes. */
  abandon(): void {
    this.detach(undefined);
  }

  private *rows<T>(chunk: Buffer, parseRow: RowParser<T>): Generator<T> {
    let at = 0;
    if (this.pending) {
      // Complete the carried message with just the bytes it lacks.
      const carried = this.pending;
      const header = carried.length >= 5 ? carried : Buffer.concat([carried, chunk.subarray(0, 5 - carried.length)]);
      if (header.length < 5) {
        this.pending = header;
        return;
      }
      const total = 1 + header.readUInt32BE(1);
      const lacking = total - carried.length;
      if (lacking > chunk.length) {
        this.pending = Buffer.concat([carried, chunk]);
        return;
      }
      this.pending = undefined;
      const message = Buffer.concat([carried, chunk.subarray(0, lacking)]);
      if (message[0] === copyData) yield parseRow(message, 5, total);
      else if (this.ends(message[0]!)) return this.detach(Buffer.concat([message.subarray(message[0] === errorResponse ? 0 : total), chunk.subarray(lacking)]));
      at = lacking;
    }
    const length = chunk.length;
    while (at + 5 <= length) {
      const total = 1 + chunk.readUInt32BE(at + 1);
      if (at + total > length) break;
      const code = chunk[at]!;
      if (code === copyData) yield parseRow(chunk, at + 5, at + total);
      else if (this.ends(code)) return this.detach(chunk.subarray(code === errorResponse ? at : at + total));
      at += total;
    }
    if (at < length) this.pending = Buffer.from(chunk.subarray(at));
  }

  /** Whether a message other than CopyData ends the COPY (CopyDone, an error, anything not interspersed). */
  private ends(code: number): boolean {
    if (interspersed.has(code)) return false;
    this.copyDone = code !== errorResponse;
    return true;
  }
}
