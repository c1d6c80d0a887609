// HMAC-SHA256 for many short messages under one key, in plain JavaScript. createHmac builds an
// object and sets up the key on every call, which costs more than hashing a ~150-byte row; here the
// key's inner and outer blocks are compressed once, and a row costs only its own blocks and one
// outer block, written and padded in one preallocated buffer (RFC 2104 over FIPS 180-4).

/** SHA-256's round constants (FIPS 180-4, 4.2.2). */
export const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const initialState = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const blockSize = 64;

/**
 * Compresses one block into `state`; the block's 16 words are already in w[0..15]. Rounds unrolled by
 * 8 with the names rotating instead of the values (about a third faster than one round a loop here).
 */
function compress(state: Int32Array, w: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!; const y = w[t - 2]!;
    w[t] = (w[t - 16]! + (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + w[t - 7]! + (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let t = 0; t < 64; t += 8) {
    let t1: number;
    t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + (g ^ (e & (f ^ g))) + K[t]! + w[t]!) | 0; d = (d + t1) | 0; h = (t1 + ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) | (c & (a | b))))) | 0;
    t1 = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + (f ^ (d & (e ^ f))) + K[t + 1]! + w[t + 1]!) | 0; c = (c + t1) | 0; g = (t1 + ((((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) | (b & (h | a))))) | 0;
    t1 = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + (e ^ (c & (d ^ e))) + K[t + 2]! + w[t + 2]!) | 0; b = (b + t1) | 0; f = (t1 + ((((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) | (a & (g | h))))) | 0;
    t1 = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + (d ^ (b & (c ^ d))) + K[t + 3]! + w[t + 3]!) | 0; a = (a + t1) | 0; e = (t1 + ((((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) | (h & (f | g))))) | 0;
    t1 = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + (c ^ (a & (b ^ c))) + K[t + 4]! + w[t + 4]!) | 0; h = (h + t1) | 0; d = (t1 + ((((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) | (g & (e | f))))) | 0;
    t1 = (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + (b ^ (h & (a ^ b))) + K[t + 5]! + w[t + 5]!) | 0; g = (g + t1) | 0; c = (t1 + ((((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) | (f & (d | e))))) | 0;
    t1 = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + (a ^ (g & (h ^ a))) + K[t + 6]! + w[t + 6]!) | 0; f = (f + t1) | 0; b = (t1 + ((((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) | (e & (c | d))))) | 0;
    t1 = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + (h ^ (f & (g ^ h))) + K[t + 7]! + w[t + 7]!) | 0; e = (e + t1) | 0; a = (t1 + ((((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) | (d & (b | c))))) | 0;
  }
  state[0] = (state[0]! + a) | 0; state[1] = (state[1]! + b) | 0; state[2] = (state[2]! + c) | 0; state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0; state[5] = (state[5]! + f) | 0; state[6] = (state[6]! + g) | 0; state[7] = (state[7]! + h) | 0;
}
function loadBlock(w: Int32Array, bytes: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4) w[i] = (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
}

/** The state after compressing the key block XORed with `pad` (0x36 inner, 0x5c outer). */
function padState(key: Uint8Array, pad: number, w: Int32Array): Int32Array {
  const block = new Uint8Array(blockSize).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = key[i]! ^ pad;
  const state = initialState.slice();
  loadBlock(w, block, 0);
  compress(state, w);
  return state;
}

const hexDigits = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** A byte's value as a hex digit, either case; -1 for any other byte. */
const hexValues = Int8Array.from({ length: 256 }, (_, c) => {
  const digit = '0123456789abcdef'.indexOf(String.fromCharCode(c).toLowerCase());
  return c < 128 && digit >= 0 ? digit : -1;
});

/** Whether bytes[start, end) spell the 8 big-endian `words` in hex, either case: eight digits a word. */
export function hexSpellsWords(bytes: Uint8Array, start: number, end: number, words: Int32Array): boolean {
  if (end - start !== 64) return false;
  for (let word = 0, at = start; word < 8; word++) {
    let value = 0;
    for (let k = 0; k < 8; k++, at++) {
      const nibble = hexValues[bytes[at]!]!;
      if (nibble < 0) return false;
      value = (value << 4) | nibble;
    }
    if (value !== words[word]) return false;
  }
  return true;
}

export const HexMatch = {
  none: 0,
  lowerCase: 1,
  /** The same digits, some letters in upper case. */
  upperCase: 2,
} as const;
export type HexMatch = (typeof HexMatch)[keyof typeof HexMatch];

/** hexSpellsWords over bytes[start, start + 64), and whether a letter is in upper case. */
export function hexMatch(bytes: Uint8Array, start: number, words: Int32Array): HexMatch {
  let upper = 0;
  for (let word = 0, at = start; word < 8; word++) {
    let value = 0;
    for (let k = 0; k < 8; k++, at++) {
      const c = bytes[at]!;
      const nibble = hexValues[c]!;
      if (nibble < 0) return HexMatch.none;
      upper |= c >= 65 && c <= 70 ? 1 : 0;
      value = (value << 4) | nibble;
    }
    if (value !== words[word]) return HexMatch.none;
  }
  return upper ? HexMatch.upperCase : HexMatch.lowerCase;
}

/** Writes the 8 big-endian `words` as 64 lower-case hex digits at out[0, 64). */
export function writeHex(words: Int32Array, out: Uint8Array): void {
  for (let i = 0; i < 64; i++) out[i] = hexDigits[(words[i >> 3]! >>> (28 - 4 * (i & 7))) & 15]!;
}

/**
 * One key's HMAC-SHA256. Write a message into `message` from offset 0 (grow it with `reserve`), then
 * `compute(length)`; the MAC is in `digest` as 8 big-endian words until the next call.
 */
export class HmacSha256 {
  /** Where a message is written; its tail is overwritten by the padding. */
  message: Uint8Array = new Uint8Array(1024);
  readonly digest = new Int32Array(8);
  /** The states after the key block XOR ipad and XOR opad. */
  readonly inner: Int32Array;
  readonly outer: Int32Array;
  private readonly w = new Int32Array(64);

  constructor(key: Uint8Array) {
    if (key.length > blockSize) key = new HmacSha256(new Uint8Array(0)).hashOnly(key);
    this.inner = padState(key, 0x36, this.w);
    this.outer = padState(key, 0x5c, this.w);
  }

  /** Room for a message of `length` bytes (and its padding), keeping the first `keep` bytes written. */
  reserve(length: number, keep = 0): Uint8Array {
    if (length + blockSize + 8 > this.message.length) {
      const grown = new Uint8Array(Math.max(2 * this.message.length, length + blockSize + 8));
      grown.set(this.message.subarray(0, keep));
      this.message = grown;
    }
    return this.message;
  }

  /** The HMAC of message[0, length). */
  compute(length: number): Int32Array {
    const { w, digest } = this;
    digest.set(this.inner);
    this.padAndCompress(digest, length, blockSize + length);
    // Outer: one block holding the inner digest and its padding.
    for (let i = 0; i < 8; i++) w[i] = digest[i]!;
    w[8] = 0x80000000 | 0;
    w.fill(0, 9, 15);
    w[15] = (blockSize + 32) * 8;
    digest.set(this.outer);
    compress(digest, w);
    return digest;
  }

  /** The MAC as lowercase hex. */
  hex(): string {
    let s = '';
    for (let i = 0; i < 8; i++) s += (this.digest[i]! >>> 0).toString(16).padStart(8, '0');
    return s;
  }

  /** The MAC as base64. */
  base64(): string {
    const bytes = Buffer.allocUnsafe(32);
    for (let i = 0; i < 8; i++) bytes.writeInt32BE(this.digest[i]!, 4 * i);
    return bytes.toString('base64');
  }

  /** Whether `text` (hex, either case) spells the MAC just computed. */
  equalsHex(text: string): boolean {
    if (text.length !== 64) return false;
    for (let i = 0; i < 64; i++) if (!this.hexDigitIs(i, text.charCodeAt(i))) return false;
    return true;
  }

  /** equalsHex over bytes[start, end) (ASCII hex as stored), without a string. */
  equalsHexBytes(bytes: Uint8Array, start: number, end: number): boolean {
    return hexSpellsWords(bytes, start, end, this.digest);
  }

  /** Whether character code `c` is hex digit `i` of the MAC; a letter digit may be upper case. */
  private hexDigitIs(i: number, c: number): boolean {
    const nibble = (this.digest[i >> 3]! >>> (28 - 4 * (i & 7))) & 15;
    // 'A' | 0x20 is 'a'; a decimal digit must match exactly.
    return c === hexDigits[nibble] || (nibble >= 10 && (c | 0x20) === hexDigits[nibble]);
  }

  /** Pads message[0, length) in place and compresses it into `state`; `total` counts bytes hashed before it too. */
  private padAndCompress(state: Int32Array, length: number, total: number): void {
    const message = this.reserve(length, length);
    const { w } = this;
    message[length] = 0x80;
    const end = Math.ceil((length + 9) / blockSize) * blockSize;
    message.fill(0, length + 1, end - 8);
    const bits = total * 8;
    const high = Math.floor(bits / 0x100000000);
    for (let i = 0; i < 4; i++) {
      message[end - 8 + i] = (high >>> (24 - 8 * i)) & 0xff;
      message[end - 4 + i] = (bits >>> (24 - 8 * i)) & 0xff;
    }
    for (let at = 0; at < end; at += blockSize) {
      loadBlock(w, message, at);
      compress(state, w);
    }
  }

  /** Plain SHA-256 of `bytes` (for a key longer than a block). */
  private hashOnly(bytes: Uint8Array): Uint8Array {
    this.reserve(bytes.length).set(bytes);
    const state = initialState.slice();
    this.padAndCompress(state, bytes.length, bytes.length);
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = (state[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
    return out;
  }
}

