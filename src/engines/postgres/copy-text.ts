// PostgreSQL `COPY … TO STDOUT` text format, parsed straight from the bytes: rows end with \n, fields
// are separated by \t, `\N` is null, and a backslash escapes the byte after it (\b \f \n \r \t \v,
// octal \ooo, hex \xhh, anything else stands for itself). Field text is what a query returns as text.

import { nullCell, type CellValue, type Utf8Cell, type ValueKind } from '../rows.ts';

const backslash = 92;
const tab = 9;
const newline = 10;

function isOctal(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 48 && byte <= 55;
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 48 && byte <= 57) return byte - 48;
  if (byte >= 97 && byte <= 102) return byte - 87;
  if (byte >= 65 && byte <= 70) return byte - 55;
  return -1;
}

const simpleEscapes: Record<number, number> = { 98: 8, 102: 12, 110: 10, 114: 13, 116: 9, 118: 11 };

/** Field bytes [start, end) with escapes, decoded as UTF-8. */
function unescapeField(buf: Buffer, start: number, end: number, scratch: Buffer): string {
  const out = scratch.length >= end - start ? scratch : Buffer.allocUnsafe(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c !== backslash || i + 1 >= end) {
      out[o++] = c;
      continue;
    }
    const next = buf[++i]!;
    if (isOctal(next)) {
      let value = next - 48;
      for (let k = 0; k < 2 && i + 1 < end && isOctal(buf[i + 1]); k++) value = value * 8 + (buf[++i]! - 48);
      out[o++] = value & 0xff;
    } else if (next === 120 && hexValue(buf[i + 1]) >= 0 && i + 1 < end) {
      let value = hexValue(buf[++i]);
      if (i + 1 < end && hexValue(buf[i + 1]) >= 0) value = value * 16 + hexValue(buf[++i]);
      out[o++] = value;
    } else out[o++] = simpleEscapes[next] ?? next;
  }
  return out.toString('utf8', 0, o);
}

/**
 * One column's field of the current row, decoded only when its text is read: a check that needs a
 * few fields (or only the bytes of some) pays for no others. The bytes stay valid until the next row.
 */
export class CopyTextCell implements Utf8Cell {
  readonly kind: ValueKind;
  /** The field's bytes when they are its text (no escapes); undefined otherwise. */
  utf8: Uint8Array | undefined;
  start = 0;
  end = 0;
  private buf: Buffer = Buffer.alloc(0);
  private escaped = false;
  private decoded: string | undefined;
  private readonly scratch: { buffer: Buffer };

  constructor(kind: ValueKind, scratch: { buffer: Buffer }) {
    this.kind = kind;
    this.scratch = scratch;
  }

  /** Points the cell at field bytes [start, end) of `buf`. */
  set(buf: Buffer, start: number, end: number, escaped: boolean): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.escaped = escaped;
    // A bytea's text is its hex without the \x prefix, so its bytes are never the text.
    this.utf8 = escaped || this.kind === 'bytes' ? undefined : buf;
    this.decoded = undefined;
  }

  get text(): string {
    if (this.decoded === undefined) {
      const { buf, start, end } = this;
      let text: string;
      if (!this.escaped) text = buf.toString('utf8', start, end);
      else {
        if (end - start > this.scratch.buffer.length) this.scratch.buffer = Buffer.allocUnsafe(end - start);
        text = unescapeField(buf, start, end, this.scratch.buffer);
      }
      this.decoded = this.kind === 'bytes' ? text.slice(2) : text;
    }
    return this.decoded;
  }
}

/**
 * Turns COPY text chunks into rows of cells. The row array and its cells are reused from row to row
 * (no object per row): read a row before asking for the next. A row split across chunks is carried over.
 */
export class CopyTextParser {
  private carry: Buffer | undefined;
  private readonly current: CellValue[];
  private readonly cells: CopyTextCell[];
  /** The buffer last searched for a backslash, and the next one's offset in it (-1: none). */
  private scanned: Buffer | undefined;
  private backslashAt = -1;

  constructor(kinds: ValueKind[]) {
    const scratch = { buffer: Buffer.allocUnsafe(4096) };
    this.cells = kinds.map((kind) => new CopyTextCell(kind, scratch));
    this.current = [...this.cells];
  }

  /** The rows complete in `chunk` (with what was carried over), one after another in the same array. */
  *rows(chunk: Buffer): Generator<CellValue[]> {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    let rowStart = 0;
    for (let end = buf.indexOf(newline); end >= 0; end = buf.indexOf(newline, rowStart)) {
      yield this.row(buf, rowStart, end);
      rowStart = end + 1;
    }
    if (rowStart < buf.length) this.carry = Buffer.from(buf.subarray(rowStart));
  }

  /** One row from its bytes [start, end) of `buf`, its newline left out; the same array every time. */
  row(buf: Buffer, rowStart: number, end: number): CellValue[] {
    const { current: row, cells } = this;
    const columns = cells.length;
    // Data never holds a raw tab or newline (COPY writes them as \t and \n), so the separators are
    // found with native searches (faster than a byte loop here); the next backslash is looked up once
    // per position in a buffer, not per field or row.
    if (buf !== this.scanned || (this.backslashAt >= 0 && this.backslashAt < rowStart)) {
      this.scanned = buf;
      this.backslashAt = buf.indexOf(backslash, rowStart);
    }
    let start = rowStart;
    let lastStart = rowStart;
    for (let field = 0; field < columns; field++) {
      lastStart = start;
      const stop = field === columns - 1 ? end : buf.indexOf(tab, start);
      if (stop < 0 || stop > end) throw new Error(`COPY row has ${field + 1} fields, expected ${columns}`);
      if (this.backslashAt >= 0 && this.backslashAt < start) this.backslashAt = buf.indexOf(backslash, start);
      const escaped = this.backslashAt >= 0 && this.backslashAt < stop;
      if (escaped && stop - start === 2 && buf[start + 1] === 78 && buf[start] === backslash) row[field] = nullCell;
      else {
        const cell = cells[field]!;
        cell.set(buf, start, stop, escaped);
        row[field] = cell;
      }
      start = stop + 1;
    }
    const extraTab = buf.indexOf(tab, lastStart);
    if (extraTab >= 0 && extraTab < end) throw new Error(`COPY row has more than ${columns} fields`);
    return row;
  }

  /** Throws when the output stopped inside a row. */
  end(): void {
    if (this.carry?.length) throw new Error('COPY output ends inside a row');
  }
}
