// HMAC-SHA256 of four messages at once under one key, in WebAssembly SIMD: one message a 32-bit
// lane, so four rows cost about what one costs in JavaScript (hmac-sha256.ts). The module is
// generated from scripts/lib/hmac-sha256-x4.ts; messages are written into its memory and padded here.
import { HmacSha256 } from './hmac-sha256.ts';
import { layout, wasm } from './hmac-sha256-x4.generated.ts';

export const lanes = 4;
const blockSize = 64;

/** What is used of the WebAssembly global (its types come with the DOM library, not Node's). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }; hmac: (blocks: number) => void } };
}
const webAssembly = (globalThis as unknown as { WebAssembly?: WebAssemblyApi }).WebAssembly;

let compiled: object | null | undefined;
/** The module, compiled once a thread; null where WebAssembly SIMD is not available. */
function module(): object | null {
  if (compiled === undefined) {
    try {
      compiled = webAssembly ? new webAssembly.Module(Buffer.from(wasm, 'base64')) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** A lane's message buffer: the bytes its MAC input is written into (see HmacSha256.reserve). */
export interface LaneMessage {
  message: Uint8Array;
  /** Room for `length` bytes; past the lane's capacity a scratch buffer, and `overflowed` is set. */
  reserve(length: number, keep?: number): Uint8Array;
  overflowed: boolean;
  /** Where {prev} was written in the message (audit-chain-verify.ts). */
  prevAt: number[];
}

export class HmacSha256x4 {
  readonly lanes: LaneMessage[];
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  /** Each lane's MAC from the last compute as lower-case hex, 64 bytes a lane. */
  readonly hex: Buffer;
  private readonly run: (blocks: number) => void;
  /** Each lane's own part of the module's memory. */
  private readonly own: Uint8Array[];

  /** Undefined where WebAssembly SIMD is not available. */
  static create(key: Uint8Array): HmacSha256x4 | undefined {
    const compiledModule = module();
    return compiledModule ? new HmacSha256x4(key, compiledModule) : undefined;
  }

  private constructor(key: Uint8Array, compiledModule: object) {
    const { memory, hmac } = new webAssembly!.Instance(compiledModule).exports;
    this.run = hmac;
    this.bytes = new Uint8Array(memory.buffer);
    this.words = new Int32Array(memory.buffer);
    this.hex = Buffer.from(memory.buffer, layout.hexDigests, 64 * lanes);
    const scalar = new HmacSha256(key);
    this.words.set(scalar.inner, layout.innerState / 4);
    this.words.set(scalar.outer, layout.outerState / 4);
    // Room for the padding: the 0x80 byte, zeros and the 8-byte length, in at most one more block.
    const capacity = layout.laneBytes - blockSize - 8;
    this.own = Array.from({ length: lanes }, (_, lane) => this.bytes.subarray(lane * layout.laneBytes, (lane + 1) * layout.laneBytes));
    this.lanes = this.own.map((own) => {
      const buffer: LaneMessage = {
        message: own,
        overflowed: false,
        prevAt: [],
        reserve(length: number, keep = 0) {
          if (length <= capacity && buffer.message === own) return own;
          if (length > buffer.message.length) {
            const grown = new Uint8Array(Math.max(2 * buffer.message.length, length));
            grown.set(buffer.message.subarray(0, keep));
            buffer.message = grown;
          }
          buffer.overflowed = true;
          return buffer.message;
        },
      };
      return buffer;
    });
  }

  /** Lane `lane` written anew: forgets an overflow. */
  clear(lane: number): void {
    const buffer = this.lanes[lane]!;
    buffer.overflowed = false;
    buffer.message = this.own[lane]!;
  }

  /**
   * The HMAC of lane i's message[0, lengths[i]) for the first `used` lanes (none overflowed); read
   * each with `digest`. The other lanes are not hashed.
   */
  compute(lengths: Int32Array, used: number): void {
    const { bytes, words } = this;
    let most = 0;
    for (let lane = 0; lane < lanes; lane++) {
      if (lane >= used) {
        words[layout.blockCounts / 4 + lane] = 0;
        continue;
      }
      const length = lengths[lane]!;
      const base = lane * layout.laneBytes;
      const end = Math.ceil((length + 9) / blockSize) * blockSize;
      bytes[base + length] = 0x80;
      bytes.fill(0, base + length + 1, base + end - 4);
      // The bit length, key block included; under 2^32 bits here.
      const bits = (blockSize + length) * 8;
      for (let i = 0; i < 4; i++) bytes[base + end - 4 + i] = (bits >>> (24 - 8 * i)) & 0xff;
      const blocks = end / blockSize;
      words[layout.blockCounts / 4 + lane] = blocks;
      if (blocks > most) most = blocks;
    }
    this.run(most);
  }

  /** Lane `lane`'s MAC from the last compute, as 8 big-endian words into `out`. */
  digest(lane: number, out: Int32Array): Int32Array {
    const at = layout.digests / 4 + lane;
    for (let word = 0; word < 8; word++) out[word] = this.words[at + 4 * word]!;
    return out;
  }
}
