// Reads a drill file as untrusted bytes: only a regular file, never more than the size limit, and
// only valid UTF-8 text. The evidence's drill sha256 is taken over exactly these bytes.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { DrillConfigError, type SpecIssue } from '../errors.ts';

/** Bounds on what a drill may be, so a hostile file ends in a clear error in bounded time and memory. */
export const drillLimits = {
  /** Bytes in a drill file. Real drills are a few KiB. */
  fileBytes: 4 * 1024 * 1024,
  /** Characters in any single value, after interpolation. */
  valueChars: 1024 * 1024,
  /** Characters in a key (keys are quoted back in messages). */
  keyChars: 256,
  /** Items in one list: validating each costs far more than reading it, so a flood is refused whole. */
  listItems: 1000,
  /** Characters of one problem's message. */
  messageChars: 500,
  /** Nesting of flow collections ([ and {); deeper input is refused before it is parsed. */
  flowDepth: 64,
  /** Problems listed per drill; the rest are counted ("and 63,990 more"). */
  issues: 10,
} as const;

const kib = (n: number) => `${Math.round(n / 1024).toLocaleString('en-US')} KiB`;

/** The drill's bytes, or a DrillConfigError naming the file (and the line for bad bytes). */
export async function readDrillBytes(file: string, path: string): Promise<Buffer> {
  const refuse = (message: string, at: Partial<SpecIssue> = {}) => new DrillConfigError([{ file, ...at, message }]);
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; nothing is read before fstat says "regular file".
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw refuse(code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : `cannot open: ${code ?? (err as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw refuse(`not a regular file (${kindOf(stat)}); a drill must be a regular file`);
    if (stat.size > drillLimits.fileBytes) throw refuse(tooBig(stat.size));
    // Read at most one byte past the limit: the size fstat reports is not trusted (it can grow).
    const buffer = Buffer.alloc(Math.min(stat.size, drillLimits.fileBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > drillLimits.fileBytes) throw refuse(tooBig(length));
    const bytes = buffer.subarray(0, length);
    const bad = badByte(bytes);
    if (bad) throw refuse(bad.message, bad.at);
    return bytes;
  } finally {
    await handle.close();
  }
}

function tooBig(size: number): string {
  return `the file is ${kib(size)}; a drill may be at most ${kib(drillLimits.fileBytes)}`;
}

function kindOf(stat: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a file';
}

/** The first byte that keeps `bytes` from being drill text: invalid UTF-8, or a control character YAML forbids. */
function badByte(bytes: Buffer): { message: string; at: Partial<SpecIssue> } | undefined {
  if (!isUtf8(bytes)) {
    const offset = invalidUtf8Offset(bytes);
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) ? ' (it starts with a UTF-16 byte-order mark)' : '';
    return { at: lineCol(bytes, offset), message: `not UTF-8: byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at byte offset ${offset} is invalid${utf16}; save the drill as UTF-8` };
  }
  // YAML's character set excludes C0 controls other than tab, LF and CR (and DEL).
  const control = bytes.findIndex((b) => (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f);
  if (control >= 0) return { at: lineCol(bytes, control), message: `control character U+${bytes[control]!.toString(16).padStart(4, '0').toUpperCase()} at byte offset ${control}; a drill is text` };
  return undefined;
}

/** Byte offset of the first invalid UTF-8 sequence (the bytes are known not to be UTF-8). */
function invalidUtf8Offset(bytes: Buffer): number {
  // The decoder replaces each invalid sequence with U+FFFD; the first U+FFFD not spelled EF BF BD is the culprit.
  let offset = 0;
  for (const char of new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes)) {
    const code = char.codePointAt(0)!;
    if (code === 0xfffd && !(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
    offset += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return offset;
}

function lineCol(bytes: Buffer, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1 && i < offset; i = bytes.indexOf(0x0a, i + 1)) [line, start] = [line + 1, i + 1];
  return { line, col: offset - start + 1 };
}

/** Offset of the first flow collection nested deeper than the limit, found without parsing (quotes are not skipped: a false alarm needs 65 unclosed brackets). */
export function tooDeep(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > drillLimits.flowDepth) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return undefined;
}
