// PostgreSQL `COPY … TO STDOUT` text format, parsed straight from the bytes: rows end with \n, fields
// are separated by \t, `\N` is null, and a backslash escapes the byte after it (\b \f \n \r \t \v,
// octal \ooo, hex \xhh, anything else stands for itself). Field text is what a query returns as text.

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
 * Turns COPY text chunks into rows. The fields array is reused from row to row (no object per row):
 * read it before asking for the next row. A row split across chunks is carried over.
 */
export class CopyTextParser {
  private carry: Buffer | undefined;
  private readonly fields: (string | null)[];
  private scratch = Buffer.allocUnsafe(4096);

  private readonly columns: number;

  constructor(columns: number) {
    this.columns = columns;
    this.fields = new Array<string | null>(columns).fill(null);
  }

  *rows(chunk: Buffer): Generator<(string | null)[]> {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const fields = this.fields;
    const columns = this.columns;
    // Data never holds a raw tab or newline (COPY writes them as \t and \n), so the separators are
    // found with native searches; the next backslash is looked up once per chunk position, not per field.
    let backslashAt = buf.indexOf(backslash);
    let rowStart = 0;
    for (let end = buf.indexOf(newline); end >= 0; end = buf.indexOf(newline, rowStart)) {
      let start = rowStart;
      let lastStart = rowStart;
      for (let field = 0; field < columns; field++) {
        lastStart = start;
        const stop = field === columns - 1 ? end : buf.indexOf(tab, start);
        if (stop < 0 || stop > end) throw new Error(`COPY row has ${field + 1} fields, expected ${columns}`);
        if (backslashAt >= 0 && backslashAt < start) backslashAt = buf.indexOf(backslash, start);
        fields[field] = this.field(buf, start, stop, backslashAt >= 0 && backslashAt < stop);
        start = stop + 1;
      }
      const extraTab = buf.indexOf(tab, lastStart);
      if (extraTab >= 0 && extraTab < end) throw new Error(`COPY row has more than ${columns} fields`);
      rowStart = end + 1;
      yield fields;
    }
    if (rowStart < buf.length) this.carry = Buffer.from(buf.subarray(rowStart));
  }

  /** Throws when the output stopped inside a row. */
  end(): void {
    if (this.carry?.length) throw new Error('COPY output ends inside a row');
  }

  private field(buf: Buffer, start: number, end: number, escaped: boolean): string | null {
    if (!escaped) return buf.toString('utf8', start, end);
    if (end - start === 2 && buf[start] === backslash && buf[start + 1] === 78) return null;
    if (end - start > this.scratch.length) this.scratch = Buffer.allocUnsafe(end - start);
    return unescapeField(buf, start, end, this.scratch);
  }
}
