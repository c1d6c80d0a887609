// The audit chain's verification, row by row: the MAC input of each row, its HMAC, and the verdict
// (ChainVerifier). What a worker thread needs to verify a key range, and nothing more: no secrets,
// no drill, no check outcome.
import { createHmac, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../evidence/canonical.ts';
import type { AuditChainCheckSpec, AuditChainFormat } from '../drill/types.ts';
import { rowBatches, utf8Of, type CellValue, type RowReader, type RowSource, type RowStream } from '../engines/rows.ts';
import type { StartedStore } from '../runtimes/types.ts';
import type { RangeJob, RangeOutcome, RangeVerifying } from './audit-chain-ranges.ts';
import { HexMatch, HmacSha256, hexMatch, hexSpellsWords, writeHex } from './hmac-sha256.ts';
import { HmacSha256x4, lanes } from './hmac-sha256-x4.ts';

/** A MAC input template: text and `{name}` placeholders; `{{` and `}}` are literal braces. */
export type MacTemplatePart = string | { name: string };

const placeholderName = /^[A-Za-z_][A-Za-z0-9_.$-]*$/;

/** Parses `{prev}|{id}|{actor}`; throws an Error saying where the syntax is wrong. */
export function parseMacTemplate(template: string): MacTemplatePart[] {
  const parts: MacTemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '{' && template[i + 1] === '{') (text += '{'), i++;
    else if (c === '}' && template[i + 1] === '}') (text += '}'), i++;
    else if (c === '}') throw new Error(`unmatched "}" at offset ${i} (write "}}" for a literal brace)`);
    else if (c === '{') {
      const end = template.indexOf('}', i + 1);
      if (end < 0) throw new Error(`unterminated "{" at offset ${i}`);
      const name = template.slice(i + 1, end);
      if (name.includes('{')) throw new Error(`"{" inside a placeholder at offset ${i}`);
      if (!placeholderName.test(name)) throw new Error(`invalid placeholder {${name}} at offset ${i}: expected {prev} or {<column>}`);
      if (text) parts.push(text);
      text = '';
      parts.push({ name });
      i = end;
    } else text += c;
  }
  if (text) parts.push(text);
  return parts;
}


/** `YYYY-MM-DD HH:MM:SS[.ffffff][+00]` → what JavaScript's toISOString prints (ms precision). */
export function isoFromText(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:\+00(?::00)?|Z)?$/.exec(text);
  if (!m) return text;
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

type Formatter = (cell: CellValue) => string;

function timestampFormatter(format: AuditChainFormat['timestamp']): (text: string) => string | number {
  switch (format ?? 'iso') {
    case 'iso':
      return isoFromText;
    case 'text':
      return (t) => t;
    case 'epochMillis':
      return (t) => Date.parse(isoFromText(t));
    case 'epochSeconds':
      return (t) => Math.floor(Date.parse(isoFromText(t)) / 1000);
  }
}

function textFormatter(format: AuditChainFormat = {}): Formatter {
  const ts = timestampFormatter(format.timestamp);
  const nullText = format.null ?? '';
  return (cell) => {
    switch (cell.kind) {
      case 'null':
        return nullText;
      case 'timestamp':
        return String(ts(cell.text));
      case 'boolean':
        return cell.text === 't' || cell.text === 'true' ? 'true' : 'false';
      default:
        return cell.text;
    }
  };
}

function jsonFormatter(format: AuditChainFormat = {}): (cell: CellValue) => unknown {
  const ts = timestampFormatter(format.timestamp);
  return (cell) => {
    switch (cell.kind) {
      case 'null':
        return format.null ?? null;
      case 'timestamp':
        return ts(cell.text);
      case 'boolean':
        return cell.text === 't' || cell.text === 'true';
      case 'number':
        return format.numbers === 'text' ? cell.text : Number(cell.text);
      default:
        return cell.text;
    }
  };
}

export type BreakKind = 'changed' | 'deleted' | 'reordered';
export interface ChainBreak {
  /** The ordering key of the row where the chain breaks. */
  key: string;
  kind: BreakKind;
  reason: string;
}

/**
 * A previous MAC held as bytes (ASCII, as the verifier holds it: a stored MAC lowercased): bytes[0,
 * length). After a row verified from bytes it is that row's MAC digest (`words`), its hex written out.
 */
export class MacBytes {
  bytes: Buffer = Buffer.alloc(128);
  length = 0;
  readonly words = new Int32Array(8);
  /** Whether `words` hold the MAC (then `bytes` are its lower-case hex). */
  private isDigest = false;

  /** Holds `text` as it is; false when it is not ASCII. */
  setText(text: string): boolean {
    if (text.length > this.bytes.length) this.bytes = Buffer.alloc(2 * text.length);
    const bytes = this.bytes;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) return false;
      bytes[i] = c;
    }
    this.length = text.length;
    this.isDigest = false;
    return true;
  }

  /** Holds `bytes[0, length)` as written there by the caller: a stored MAC, lowercased. */
  holdLower(length: number): void {
    this.length = length;
    this.isDigest = false;
  }

  /** Holds a MAC that verified: its digest, and its hex (what storedMac makes of the stored MAC). */
  setDigest(digest: Int32Array): void {
    this.words.set(digest);
    writeHex(digest, this.bytes);
    this.length = 64;
    this.isDigest = true;
  }

  /** Whether bytes[start, end), lowercased as storedMac does, are the MAC held. */
  equalsLower(text: Uint8Array, start: number, end: number): boolean {
    if (this.isDigest) return hexSpellsWords(text, start, end, this.words);
    if (end - start !== this.length) return false;
    const bytes = this.bytes;
    for (let i = start; i < end; i++) {
      const c = text[i]!;
      if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== bytes[i - start]) return false;
    }
    return true;
  }

  text(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length).toString('latin1');
  }
}

/**
 * Whether a row's MAC, computed over its input with `prev` (the previous MAC as stored), equals
 * `stored` (as stored, encoded). `bytes`, for HMAC-SHA256 in hex: the same over the previous MAC's
 * bytes and the stored MAC's bytes, without a string.
 */
export interface MacCheck {
  (prev: string, row: CellValue[], stored: string): boolean;
  /** On a match, `prev` then holds the row's MAC, the previous one for the next row. */
  bytes?: (prev: MacBytes, row: CellValue[], stored: Uint8Array, start: number, end: number) => boolean;
  /** HMAC-SHA256 in hex: four rows' MACs at once (MacLanes), made when asked; undefined where WebAssembly SIMD does not run. */
  lanes?: () => { x4: HmacSha256x4; writeInput: WriteInput } | undefined;
}

const utf8 = new TextEncoder();

/** Where a MAC input is written: HmacSha256's message, or a lane of HmacSha256x4. */
interface MessageBuffer {
  reserve(length: number, keep?: number): Uint8Array;
  /** When present, the offset of each {prev} written is added. */
  prevAt?: number[];
}

/** Writes a row's MAC input (with `prev` as {prev}) into `buffer` from offset 0; returns its length. */
type WriteInput = (buffer: MessageBuffer, prev: string | MacBytes, row: CellValue[]) => number;

/** Writes `text` as UTF-8 into the HMAC's message at `at`; returns the end. */
function writeUtf8(hmac: MessageBuffer, at: number, text: string): number {
  // At most 3 bytes per UTF-16 unit; ASCII is copied byte by byte, cheaper than a native call for short text.
  const message = hmac.reserve(at + 3 * text.length, at);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return at + utf8.encodeInto(text.slice(i), message.subarray(at)).written;
    message[at++] = c;
  }
  return at;
}

/** Below this many bytes a loop copies faster than a native call. */
const nativeCopyFrom = 24;

function writeBytes(hmac: MessageBuffer, at: number, bytes: Uint8Array, start: number, end: number): number {
  const message = hmac.reserve(at + end - start, at);
  if (end - start >= nativeCopyFrom && bytes instanceof Buffer) return at + bytes.copy(message, at, start, end);
  for (let i = start; i < end; i++) message[at++] = bytes[i]!;
  return at;
}

/** Where a digit, `-` or `:` must stand in `YYYY-MM-DD HH:MM:SS`: 0 digit, -1 space or T, else that character. */
const timestampShape = Int8Array.from([0, 0, 0, 0, 45, 0, 0, 45, 0, 0, -1, 0, 0, 58, 0, 0, 58, 0, 0]);
const isDigit = (byte: number) => byte >= 48 && byte <= 57;

const utcZones = ['Z', '+00', '+00:00'].map((zone) => Buffer.from(zone));
/** Whether bytes[at, end) are exactly `expected`. */
function isAt(bytes: Uint8Array, at: number, end: number, expected: Uint8Array): boolean {
  if (end - at !== expected.length) return false;
  for (let k = 0; k < expected.length; k++) if (bytes[at + k] !== expected[k]) return false;
  return true;
}

/**
 * isoFromText over bytes: writes `YYYY-MM-DDTHH:MM:SS.mmmZ` at `at` and returns its end, or -1 when
 * the text has another shape (then isoFromText decides; what was written is overwritten).
 */
function writeIsoTimestamp(out: Uint8Array, at: number, bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 19) return -1;
  // Checked and copied in one pass.
  for (let k = 0; k < 19; k++) {
    const want = timestampShape[k]!;
    const c = bytes[start + k]!;
    if (want === 0) {
      if (!isDigit(c)) return -1;
      out[at + k] = c;
    } else if (want > 0) {
      if (c !== want) return -1;
      out[at + k] = c;
    } else {
      if (c !== 32 && c !== 84) return -1;
      out[at + k] = 84;
    }
  }
  at += 19;
  let i = start + 19;
  out[at++] = 46;
  let digits = 0;
  if (i < end && bytes[i] === 46) {
    i++;
    if (i >= end || !isDigit(bytes[i]!)) return -1;
    for (; i < end && isDigit(bytes[i]!); i++) if (digits < 3) (out[at++] = bytes[i]!), digits++;
  }
  for (; digits < 3; digits++) out[at++] = 48;
  // The zone: none, Z, +00 or +00:00.
  if (i < end && !isAt(bytes, i, end, utcZones[0]!) && !isAt(bytes, i, end, utcZones[1]!) && !isAt(bytes, i, end, utcZones[2]!)) return -1;
  out[at++] = 90;
  return at;
}

/**
 * Builds the per-row MAC check from the check (template or canonical JSON); columns name each row cell.
 * HMAC-SHA256 runs from the key's cached inner and outer states (hmac-sha256.ts), the input written
 * straight into its buffer and the MAC compared without encoding it; HMAC-SHA512 uses createHmac.
 */
export function macFunction(check: AuditChainCheckSpec, key: KeyObject, columns: string[]): MacCheck {
  const encoding = check.encoding ?? 'hex';
  const index = (name: string) => columns.indexOf(name);
  let writeInput: WriteInput;
  if ('template' in check.input) {
    const text = textFormatter(check.format);
    // Literal text pre-encoded; a column by its index; -1 for {prev}.
    const parts = parseMacTemplate(check.input.template).map((p) => (typeof p === 'string' ? Buffer.from(p) : p.name === 'prev' ? -1 : index(p.name)));
    const isoTimestamps = (check.format?.timestamp ?? 'iso') === 'iso';
    // Part by part, so no string of the whole input is built; a cell whose text is at hand as bytes
    // and goes in unchanged (or an ISO timestamp, rewritten byte by byte) is copied without a string.
    writeInput = (hmac, prev, row) => {
      let at = 0;
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        if (typeof p !== 'number') at = writeBytes(hmac, at, p, 0, p.length);
        else if (p === -1) {
          hmac.prevAt?.push(at);
          at = typeof prev === 'string' ? writeUtf8(hmac, at, prev) : writeBytes(hmac, at, prev.bytes, 0, prev.length);
        }
        else {
          const cell = row[p]!;
          const bytes = cell.kind === 'text' || cell.kind === 'number' || (cell.kind === 'timestamp' && isoTimestamps) ? utf8Of(cell) : undefined;
          if (!bytes) at = writeUtf8(hmac, at, text(cell));
          else if (cell.kind !== 'timestamp') at = writeBytes(hmac, at, bytes.utf8!, bytes.start, bytes.end);
          else {
            const end = writeIsoTimestamp(hmac.reserve(at + 24, at), at, bytes.utf8!, bytes.start, bytes.end);
            at = end >= 0 ? end : writeUtf8(hmac, at, text(cell));
          }
        }
      }
      return at;
    };
  } else {
    const json = jsonFormatter(check.format);
    const fields = check.input.canonicalJson.map((f) => [f, index(f)] as const);
    const separator = check.input.separator ?? '';
    writeInput = (hmac, prev, row) => {
      const doc: Record<string, unknown> = {};
      for (const [name, i] of fields) doc[name] = json(row[i]!);
      return writeUtf8(hmac, 0, (typeof prev === 'string' ? prev : prev.text()) + separator + canonicalJson(doc));
    };
  }
  const hmac = new HmacSha256(key.export());
  if (check.algorithm === 'HMAC-SHA512') {
    // The SHA-256 instance only lends its message buffer here.
    return (prev, row, stored) => {
      const length = writeInput(hmac, prev, row); // first: writing may grow the buffer
      return createHmac('sha512', key).update(hmac.message.subarray(0, length)).digest(encoding) === stored;
    };
  }
  const macCheck: MacCheck = (prev, row, stored) => {
    hmac.compute(writeInput(hmac, prev, row));
    return encoding === 'hex' ? hmac.equalsHex(stored) : hmac.base64() === stored;
  };
  if (encoding === 'hex') {
    macCheck.lanes = () => {
      const x4 = HmacSha256x4.create(key.export());
      return x4 && { x4, writeInput };
    };
    macCheck.bytes = (prev, row, stored, start, end) => {
      hmac.compute(writeInput(hmac, prev, row));
      if (!hmac.equalsHexBytes(stored, start, end)) return false;
      prev.setDigest(hmac.digest);
      return true;
    };
  }
  return macCheck;
}

/** The MAC as stored, in the check's encoding (a bytea column arrives as hex). */
function storedMac(cell: CellValue, encoding: 'hex' | 'base64'): string {
  if (cell.kind === 'bytes') return encoding === 'hex' ? cell.text : Buffer.from(cell.text, 'hex').toString('base64');
  return encoding === 'hex' ? cell.text.toLowerCase() : cell.text;
}

export interface ChainResult {
  rowsRead: number;
  rowsVerified: number;
  rowsExcluded: number;
  breaks: number;
  firstBreak?: ChainBreak;
  /** Up to 10 breaks after the first. */
  moreBreaks: ChainBreak[];
}

/**
 * Rows verified four at a time, for a range verifier (HmacSha256x4): each row's input goes into a
 * lane with the stored MAC of the row before it as {prev}, and four MACs are computed together. A row
 * that cannot go into a lane (its MAC or link not at hand as bytes, its link not the MAC before it,
 * its input longer than a lane) is left to the row-by-row path once the rows before it are settled.
 */
class MacLanes {
  /** The stored MAC of the last row taken, lowercased; `held` false: take it from the verifier. */
  prev = new MacBytes();
  held = false;
  private next = new MacBytes();
  private used = 0;
  private readonly lengths = new Int32Array(lanes);
  /** Each lane's stored MAC (64 bytes a lane), compared with its computed one. */
  private readonly stored = Buffer.alloc(64 * lanes);
  /** Each lane's ordering key: its bytes (up to 64 a lane), or its text when not at hand as bytes. */
  private readonly keyBytes = Buffer.alloc(64 * lanes);
  private readonly keyLengths = new Int32Array(lanes);
  private readonly keyTexts: (string | undefined)[] = new Array(lanes);
  private readonly words = new Int32Array(8);
  private readonly x4: HmacSha256x4;
  private readonly writeInput: WriteInput;
  /** Column indexes in a row. */
  private readonly at: { key: number; mac: number; link: number };

  constructor(x4: HmacSha256x4, writeInput: WriteInput, at: { key: number; mac: number; link: number }) {
    this.x4 = x4;
    this.writeInput = writeInput;
    this.at = at;
  }

  /**
   * Whether `row` was taken (verified at the next settle); false: settle, then verify it row by row.
   * The MACs are copied as stored, not lowercased (a byte loop costs more here than the rest of a
   * row): a stored MAC in upper case is lowercased when it settles, and the lanes after it hashed again.
   */
  take(row: CellValue[], prevText: () => string, settle: () => void): boolean {
    if (!this.held && !(this.held = this.prev.setText(prevText()))) return false;
    const mac = utf8Of(row[this.at.mac]!);
    if (!mac || mac.end - mac.start !== 64) return false;
    const { prev, next } = this;
    if (this.at.link >= 0) {
      // As stored (one native compare), else ignoring case, as storedMac lowercases both sides.
      const link = utf8Of(row[this.at.link]!);
      if (!link || link.end - link.start !== prev.length) return false;
      if ((link.utf8 as Buffer).compare(prev.bytes, 0, prev.length, link.start, link.end) !== 0 && !sameIgnoringCase(link.utf8!, link.start, prev.bytes, prev.length)) return false;
    }
    const lane = this.used;
    const buffer = this.x4.lanes[lane]!;
    buffer.prevAt.length = 0;
    const length = this.writeInput(buffer, prev, row);
    if (buffer.overflowed) {
      this.x4.clear(lane);
      return false;
    }
    const bytes = mac.utf8 as Buffer;
    bytes.copy(this.stored, 64 * lane, mac.start, mac.end);
    bytes.copy(next.bytes, 0, mac.start, mac.end);
    next.holdLower(64);
    this.lengths[lane] = length;
    const key = row[this.at.key]!;
    const keyCell = utf8Of(key);
    if (keyCell && keyCell.end - keyCell.start <= 64) {
      const keyBytes = this.keyBytes;
      for (let i = keyCell.start, at = 64 * lane; i < keyCell.end; i++, at++) keyBytes[at] = keyCell.utf8![i]!;
      this.keyLengths[lane] = keyCell.end - keyCell.start;
      this.keyTexts[lane] = undefined;
    } else this.keyTexts[lane] = key.text;
    this.next = prev;
    this.prev = next;
    if (++this.used === lanes) settle();
    return true;
  }

  /** The rows taken since the last settle, in order: how many verify before the first that does not, and that one's key. */
  settle(): { verified: number; breakKey?: string } {
    const used = this.used;
    if (used === 0) return { verified: 0 };
    this.used = 0;
    const { x4, stored, words } = this;
    x4.compute(this.lengths, used);
    for (let lane = 0; lane < used; lane++) {
      // Stored as computed, in lower case (one native compare); otherwise, digit by digit.
      const at = 64 * lane;
      const match = stored.compare(x4.hex, at, at + 64, at, at + 64) === 0 ? HexMatch.lowerCase : hexMatch(stored, at, x4.digest(lane, words));
      if (match === HexMatch.none) return { verified: lane, breakKey: this.keyTexts[lane] ?? this.keyBytes.toString('utf8', 64 * lane, 64 * lane + this.keyLengths[lane]!) };
      if (match === HexMatch.upperCase) {
        // Its MAC went on as the next row's {prev} in upper case: lowercased, and what followed hashed again.
        if (lane === used - 1) lowercase(this.prev.bytes, 0, 64);
        else {
          for (let after = lane + 1; after < used; after++) for (const at of x4.lanes[after]!.prevAt) lowercase(x4.lanes[after]!.message, at, at + 64);
          x4.compute(this.lengths, used);
        }
      }
    }
    return { verified: used };
  }
}

/** Whether a[start, start + length) and b[0, length) are the same but for the case of ASCII letters. */
function sameIgnoringCase(a: Uint8Array, start: number, b: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) {
    const x = a[start + i]!;
    const y = b[i]!;
    if (x !== y && ((x | 0x20) !== (y | 0x20) || (x | 0x20) < 97 || (x | 0x20) > 122)) return false;
  }
  return true;
}

/** ASCII upper-case letters in bytes[start, end) lowercased in place. */
function lowercase(bytes: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) if (bytes[i]! >= 65 && bytes[i]! <= 90) bytes[i] = bytes[i]! | 0x20;
}

/**
 * Verifies a chain row by row. Each row's MAC is recomputed over its input with the previous row's
 * stored MAC; with a link column, the link must equal that MAC. A break is classified:
 * - changed: the row's own MAC does not verify (its fields, or its link, were altered);
 * - reordered: the row verifies with its own link, and that link is the MAC of another row seen before or after;
 * - deleted: the row verifies with its own link, and no row carries the MAC it links to (a gap).
 * Without a link column a deleted row looks like a changed one. After a break the chain resynchronises
 * on the stored MACs, so one tampered row is one break. Memory: a window of recent MACs, not the table.
 * Rows are pushed one at a time and not kept, so a source may reuse its row objects; finish() after
 * the last (a range verifier holds up to four rows until their MACs are computed together).
 */
export class ChainVerifier {
  readonly result: ChainResult = { rowsRead: 0, rowsVerified: 0, rowsExcluded: 0, breaks: 0, moreBreaks: [] };
  private readonly encoding: 'hex' | 'base64';
  private readonly iKey: number;
  private readonly iMac: number;
  private readonly iLink: number;
  private readonly iExclude: number;
  private readonly excludeValue: string | undefined;
  private readonly windowSize = 10_000;
  private readonly recent = new Set<string>();
  private readonly ring: (string | undefined)[];
  private ringAt = 0;
  /** The previous row's stored MAC; undefined while only `prevBytes` holds it. */
  private prevText: string | undefined;
  /** The same as bytes, for rows verified without strings; `prevBytesHeld` false: only `prevText` holds it. */
  private readonly prevBytes = new MacBytes();
  private prevBytesHeld = false;
  /** Link of a row that verified on its own but linked to a MAC not seen yet: deleted, unless a later row has it. */
  private pending: { chainBreak: ChainBreak; link: string } | undefined;

  private readonly check: AuditChainCheckSpec;
  private readonly mac: MacCheck;

  /** False: breaks are counted but not told apart (no window of recent MACs kept), for a range that stops at its first break. */
  private readonly classify: boolean;
  /** Rows verified four at a time: only where breaks are not told apart, as a row is verified before the ones before it settle. */
  private readonly lanes: MacLanes | undefined;

  constructor(columns: string[], check: AuditChainCheckSpec, mac: MacCheck, options: { classify?: boolean } = {}) {
    this.classify = options.classify ?? true;
    this.check = check;
    this.mac = mac;
    this.encoding = check.encoding ?? 'hex';
    const at = (name: string) => columns.indexOf(name);
    this.iKey = at(check.orderBy);
    this.iMac = at(check.macColumn);
    this.iLink = check.linkColumn ? at(check.linkColumn) : -1;
    this.iExclude = check.exclude ? at(check.exclude.column) : -1;
    this.excludeValue = check.exclude?.equals === undefined ? undefined : String(check.exclude.equals);
    this.ring = new Array<string | undefined>(this.windowSize);
    this.prevText = check.genesis ?? '';
    const lanes = !this.classify && this.iExclude < 0 ? mac.lanes?.() : undefined;
    if (lanes) this.lanes = new MacLanes(lanes.x4, lanes.writeInput, { key: this.iKey, mac: this.iMac, link: this.iLink });
  }

  private readonly prevForLanes = () => this.prev;
  private readonly settleForLanes = () => this.settleLanes();

  /** Settles the rows taken into lanes: verified up to the first that does not verify, a break. */
  private settleLanes(): void {
    const lanes = this.lanes!;
    const { verified, breakKey } = lanes.settle();
    this.result.rowsVerified += verified;
    if (breakKey !== undefined) this.addBreak({ key: breakKey, kind: 'changed', reason: 'the row does not verify: its fields were changed' });
  }

  /** After the last row: verifies what is still pending. */
  finish(): void {
    if (this.lanes) this.settleLanes();
  }

  private get prev(): string {
    return (this.prevText ??= this.prevBytes.text());
  }

  /**
   * Verifies a row from its MAC and link bytes, without a string, when it can (a range verifier, HMAC-SHA256
   * in hex, text columns read as bytes, no break pending) and the row verifies; false: push() decides.
   */
  private verifiedFromBytes(row: CellValue[]): boolean {
    const bytesCheck = this.mac.bytes;
    if (!bytesCheck || this.classify || this.pending) return false;
    const mac = row[this.iMac]!;
    const stored = mac.kind === 'text' ? utf8Of(mac) : undefined;
    if (!stored) return false;
    if (!this.prevBytesHeld && !(this.prevBytesHeld = this.prevBytes.setText(this.prevText!))) return false;
    if (this.iLink >= 0) {
      const linkCell = row[this.iLink]!;
      const link = linkCell.kind === 'text' ? utf8Of(linkCell) : undefined;
      if (!link || !this.prevBytes.equalsLower(link.utf8!, link.start, link.end)) return false;
    }
    if (!bytesCheck(this.prevBytes, row, stored.utf8!, stored.start, stored.end)) return false;
    this.prevText = undefined; // prevBytes now hold this row's MAC
    return true;
  }

  /** The ordering key of a row, as text. */
  key(row: CellValue[]): string {
    return row[this.iKey]!.text;
  }

  /** Takes a row's stored MAC as the previous one without verifying the row: the row before a range. */
  seed(row: CellValue[]): void {
    this.remember(storedMac(row[this.iMac]!, this.encoding));
  }

  push(row: CellValue[]): void {
    const { check, result, iLink, encoding } = this;
    if (this.isExcluded(row)) {
      result.rowsExcluded++;
      return;
    }
    result.rowsRead++;
    if (this.lanes) {
      if (this.lanes.take(row, this.prevForLanes, this.settleForLanes)) return;
      this.settleLanes();
      if (result.breaks > 0) return; // a range stops at its first break
      // The row-by-row path goes on from the last row taken, and moves the previous MAC on.
      if (this.lanes.held) {
        this.prevText = this.lanes.prev.text();
        this.prevBytesHeld = false;
        this.lanes.held = false;
      }
    }
    if (this.verifiedFromBytes(row)) {
      result.rowsVerified++;
      return;
    }
    const keyCell = row[this.iKey]!; // its text only when a row breaks
    const stored = storedMac(row[this.iMac]!, encoding);
    const prev = this.prev;
    const link = iLink >= 0 ? (row[iLink]!.kind === 'null' ? check.genesis ?? '' : storedMac(row[iLink]!, encoding)) : prev;
    if (this.pending && stored === this.pending.link) {
      this.pending.chainBreak.kind = 'reordered';
      this.pending.chainBreak.reason = `links to the MAC of row ${keyCell.text}, which comes after it`;
      this.pending = undefined;
    }
    const linkOk = link === prev;
    if (linkOk && this.mac(prev, row, stored)) {
      result.rowsVerified++;
      this.remember(stored);
      return;
    }
    const key = keyCell.text;
    if (linkOk) {
      this.addBreak({ key, kind: 'changed', reason: iLink >= 0 ? 'the row does not verify: its fields were changed' : 'the row does not verify: its fields were changed, or a row before it was deleted (declare linkColumn to tell them apart)' });
    } else if (!this.mac(link, row, stored)) {
      this.addBreak({ key, kind: 'changed', reason: 'neither the row nor its link verifies' });
    } else if (this.recent.has(link)) {
      this.addBreak({ key, kind: 'reordered', reason: 'links to the MAC of an earlier row that is not the one before it' });
    } else {
      const b: ChainBreak = { key, kind: 'deleted', reason: 'links to a MAC no row before it has: a row is missing (link gap)' };
      this.addBreak(b);
      if (!this.pending) this.pending = { chainBreak: b, link };
    }
    this.remember(stored);
  }

  private remember(stored: string): void {
    this.prevText = stored;
    this.prevBytesHeld = false;
    if (!this.classify) return;
    const evicted = this.ring[this.ringAt];
    if (evicted !== undefined) this.recent.delete(evicted);
    this.ring[this.ringAt] = stored;
    this.ringAt = (this.ringAt + 1) % this.windowSize;
    this.recent.add(stored);
  }

  private isExcluded(row: CellValue[]): boolean {
    if (this.iExclude < 0) return false;
    const cell = row[this.iExclude]!;
    if (this.excludeValue === undefined) return cell.kind !== 'null';
    if (cell.kind === 'boolean') return (cell.text === 't' || cell.text === 'true') === (this.excludeValue === 'true');
    return cell.kind !== 'null' && cell.text === this.excludeValue;
  }

  private addBreak(b: ChainBreak): void {
    const result = this.result;
    result.breaks++;
    if (!result.firstBreak) result.firstBreak = b;
    else if (result.moreBreaks.length < 10) result.moreBreaks.push(b);
  }
}

export async function verifyChain(source: RowStream, check: AuditChainCheckSpec, mac: MacCheck, signal?: AbortSignal): Promise<ChainResult> {
  const verifier = new ChainVerifier(source.columns, check, mac);
  for await (const batch of rowBatches(source)) {
    signal?.throwIfAborted();
    for (const row of batch) verifier.push(row);
  }
  verifier.finish();
  return verifier.result;
}

/**
 * Verifies key ranges of the chain one after another (one verifier a thread), each stopping at its
 * first break. Over one connection while the store and database stay the same, when the engine has
 * a reader (RowSource.reader): a range then costs a query, not a session. A range that starts at a
 * cut key reads that row only for its stored MAC.
 */
export class RangeVerifier implements RangeVerifying {
  private session: { of: string; reader: Promise<RowReader> } | undefined;

  /** The outcome of one range; undefined when `stop` is aborted before the range ends. */
  async verify(job: RangeJob, stop: AbortSignal): Promise<RangeOutcome | undefined> {
    const { rowSource } = (await import(job.module)) as { rowSource: RowSource };
    const request = { relation: job.relation, columns: job.columns, orderBy: job.check.orderBy, range: job.range, signal: stop };
    let source: RowStream;
    if (rowSource.reader) {
      const of = JSON.stringify([job.module, job.store.endpoint, job.database]);
      if (this.session?.of !== of) {
        await this.close();
        const reader = rowSource.reader(job.store as unknown as StartedStore, job.database, stop);
        reader.catch(() => {}); // awaited below; a failed open is that range's error
        this.session = { of, reader };
      }
      source = await (await this.session.reader).stream(request);
    } else source = await rowSource.stream(job.store as unknown as StartedStore, { ...request, database: job.database });
    try {
      const verifier = new ChainVerifier(source.columns, job.check, macFunction(job.check, job.key, source.columns), { classify: false });
      let seeded = job.range.from === undefined;
      verifying: for await (const batch of rowBatches(source)) {
        if (stop.aborted) return undefined;
        for (const row of batch) {
          if (!seeded) {
            const key = verifier.key(row);
            if (key !== job.range.from) throw new Error(`range starts at ${key}, not at its cut key ${job.range.from}`);
            verifier.seed(row);
            seeded = true;
            continue;
          }
          verifier.push(row);
          if (verifier.result.breaks > 0) break verifying;
        }
      }
      verifier.finish();
      const { rowsRead, rowsVerified, rowsExcluded, breaks, firstBreak } = verifier.result;
      return { rowsRead, rowsVerified, rowsExcluded, breaks, ...(firstBreak ? { firstBreakKey: firstBreak.key } : {}) };
    } finally {
      await source.close();
    }
  }

  /** Ends the connection kept between ranges. */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.reader.then((reader) => reader.close(), () => {});
  }
}
