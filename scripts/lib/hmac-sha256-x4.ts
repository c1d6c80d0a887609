// The WebAssembly module behind src/checks/hmac-sha256-x4.ts: HMAC-SHA256 of four messages at once
// under one key, one message per 32-bit lane of 128-bit SIMD vectors (FIPS 180-4 over RFC 2104), the
// rounds unrolled with the working variables' names rotating. Written as WebAssembly text here and
// assembled by wabt, so the committed module is reproducible: test/unit/registry.test.ts compares.
import initWabt from 'wabt';
import { K } from '../../src/checks/hmac-sha256.ts';

/** Byte offsets in the module's memory (one 64 KiB page), shared with the JavaScript side. */
export const layout = {
  /** Four message buffers, one a lane, each written from its offset 0 and padded by the caller. */
  laneBytes: 4096,
  /** i32 ×4: how many 64-byte blocks of each lane's buffer to hash (0: the lane is unused). */
  blockCounts: 16384,
  /** i32 ×8 each: the state after the key block XOR ipad, and XOR opad. */
  innerState: 16400,
  outerState: 16432,
  /** v128 ×8: word t of every lane's MAC at digests + 16t, lane i in 32-bit lane i. */
  digests: 16464,
  /** 64 bytes a lane: each lane's MAC as lower-case hex, so it is compared with a stored MAC in one native call. */
  hexDigests: 16592,
} as const;


const splat = (value: number) => `(v128.const i32x4 ${[0, 1, 2, 3].map(() => `0x${(value >>> 0).toString(16)}`).join(' ')})`;
const get = (name: string) => `(local.get $${name})`;
const add = (...terms: string[]) => terms.reduce((sum, term) => `(i32x4.add ${sum} ${term})`);
const xor = (...terms: string[]) => terms.reduce((x, term) => `(v128.xor ${x} ${term})`);
const rotr = (x: string, n: number) => `(v128.or (i32x4.shr_u ${get(x)} (i32.const ${n})) (i32x4.shl ${get(x)} (i32.const ${32 - n})))`;
const shr = (x: string, n: number) => `(i32x4.shr_u ${get(x)} (i32.const ${n}))`;

/** 64 rounds over working variables v0..v7 (from the state) and schedule w0..w15 (the block's words). */
function rounds(): string[] {
  const out: string[] = [];
  const v = (role: number, t: number) => `v${(((role - t) % 8) + 8) % 8}`;
  for (let t = 0; t < 64; t++) {
    const w = `w${t % 16}`;
    if (t >= 16) {
      const [w2, w7, w15] = [`w${(t - 2) % 16}`, `w${(t - 7) % 16}`, `w${(t - 15) % 16}`];
      out.push(`(local.set $${w} ${add(xor(rotr(w2, 17), rotr(w2, 19), shr(w2, 10)), get(w7), xor(rotr(w15, 7), rotr(w15, 18), shr(w15, 3)), get(w))})`);
    }
    const [a, b, c, d, e, f, g, h] = [0, 1, 2, 3, 4, 5, 6, 7].map((role) => v(role, t)) as [string, string, string, string, string, string, string, string];
    // Ch(e,f,g) = e ? f : g; Maj(a,b,c) = (a = b) ? b : c; bitselect(x, y, m) = m ? x : y.
    out.push(`(local.set $t1 ${add(get(h), xor(rotr(e, 6), rotr(e, 11), rotr(e, 25)), `(v128.bitselect ${get(f)} ${get(g)} ${get(e)})`, splat(K[t]!), get(w))})`);
    out.push(`(local.set $${d} (i32x4.add ${get(d)} (local.get $t1)))`);
    out.push(`(local.set $${h} ${add('(local.get $t1)', xor(rotr(a, 2), rotr(a, 13), rotr(a, 22)), `(v128.bitselect ${get(c)} ${get(b)} (v128.xor ${get(a)} ${get(b)}))`)})`);
  }
  return out;
}

/** The module's text: `hmac(blocks)` hashes each lane's first blockCounts[i] blocks (at most `blocks`). */
export function hmacSha256x4Wat(): string {
  const { laneBytes, blockCounts, innerState, outerState, digests } = layout;
  const eight = [0, 1, 2, 3, 4, 5, 6, 7];
  const sixteen = [...eight, 8, 9, 10, 11, 12, 13, 14, 15];
  // Word t of each lane's block at `$at`, big-endian: four loads into the lanes, then bytes swapped.
  const load = (t: number) => {
    const lane = (i: number) => `(i32.load offset=${i * laneBytes + 4 * t} (local.get $at))`;
    const gathered = `(i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1 (i32x4.splat ${lane(0)}) ${lane(1)}) ${lane(2)}) ${lane(3)})`;
    return `(local.set $w${t} (i8x16.shuffle 3 2 1 0 7 6 5 4 11 10 9 8 15 14 13 12 ${gathered} (v128.const i32x4 0 0 0 0)))`;
  };
  const body = [
    ...eight.map((r) => `(local.set $s${r} (i32x4.splat (i32.load offset=${innerState + 4 * r} (i32.const 0))))`),
    `(local.set $counts (v128.load offset=${blockCounts} (i32.const 0)))`,
    '(block $inner_done (loop $inner',
    '(br_if $inner_done (i32.ge_u (local.get $block) (local.get $blocks)))',
    '(local.set $at (i32.shl (local.get $block) (i32.const 6)))',
    ...sixteen.map(load),
    ...eight.map((r) => `(local.set $v${r} (local.get $s${r}))`),
    ...rounds(),
    // A lane whose message has fewer blocks keeps its state.
    '(local.set $active (i32x4.gt_s (local.get $counts) (i32x4.splat (local.get $block))))',
    ...eight.map((r) => `(local.set $s${r} (v128.bitselect (i32x4.add (local.get $s${r}) (local.get $v${r})) (local.get $s${r}) (local.get $active)))`),
    '(local.set $block (i32.add (local.get $block) (i32.const 1)))',
    '(br $inner)))',
    // The outer hash: one block of the inner digest and its padding.
    ...eight.map((r) => `(local.set $w${r} (local.get $s${r}))`),
    `(local.set $w8 ${splat(0x80000000)})`,
    ...[9, 10, 11, 12, 13, 14].map((t) => `(local.set $w${t} (v128.const i32x4 0 0 0 0))`),
    `(local.set $w15 ${splat((64 + 32) * 8)})`,
    ...eight.map((r) => `(local.set $s${r} (i32x4.splat (i32.load offset=${outerState + 4 * r} (i32.const 0))))`),
    ...eight.map((r) => `(local.set $v${r} (local.get $s${r}))`),
    ...rounds(),
    ...eight.map((r) => `(v128.store offset=${digests + 16 * r} (i32.const 0) (i32x4.add (local.get $s${r}) (local.get $v${r})))`),
    // Each lane's MAC in lower-case hex: lane i's word t is at digests + 16t + 4i.
    '(local.set $lane (i32.const 0))',
    '(loop $lanes',
    `(local.set $out (i32.add (i32.const ${layout.hexDigests}) (i32.shl (local.get $lane) (i32.const 6))))`,
    '(local.set $word (i32.const 0))',
    '(loop $words',
    `(local.set $value (i32.load offset=${digests} (i32.add (i32.shl (local.get $word) (i32.const 4)) (i32.shl (local.get $lane) (i32.const 2)))))`,
    '(local.set $shift (i32.const 28))',
    '(loop $digits',
    '(local.set $digit (i32.and (i32.shr_u (local.get $value) (local.get $shift)) (i32.const 15)))',
    // 0-9 → '0'-'9', 10-15 → 'a'-'f'.
    "(i32.store8 (local.get $out) (i32.add (i32.add (local.get $digit) (i32.const 48)) (select (i32.const 39) (i32.const 0) (i32.gt_u (local.get $digit) (i32.const 9)))))",
    '(local.set $out (i32.add (local.get $out) (i32.const 1)))',
    '(local.set $shift (i32.sub (local.get $shift) (i32.const 4)))',
    '(br_if $digits (i32.ge_s (local.get $shift) (i32.const 0))))',
    '(local.set $word (i32.add (local.get $word) (i32.const 1)))',
    '(br_if $words (i32.lt_u (local.get $word) (i32.const 8))))',
    '(local.set $lane (i32.add (local.get $lane) (i32.const 1)))',
    '(br_if $lanes (i32.lt_u (local.get $lane) (i32.const 4))))',
  ];
  const locals = [...eight.map((r) => `$s${r}`), ...eight.map((r) => `$v${r}`), ...sixteen.map((t) => `$w${t}`), '$t1', '$counts', '$active'].map((name) => `(local ${name} v128)`);
  return [
    '(module',
    '(memory (export "memory") 1)',
    '(func (export "hmac") (param $blocks i32)',
    ...locals,
    '(local $block i32) (local $at i32) (local $lane i32) (local $word i32) (local $out i32) (local $value i32) (local $shift i32) (local $digit i32)',
    ...body,
    '))',
    '',
  ].join('\n');
}

/** The module's bytes, assembled. */
export async function hmacSha256x4Wasm(): Promise<Uint8Array> {
  const wabt = await initWabt();
  const module = wabt.parseWat('hmac-sha256-x4.wat', hmacSha256x4Wat(), { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
