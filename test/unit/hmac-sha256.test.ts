// The audit chain's HMAC-SHA256 (cached key states, plain JavaScript) against node:crypto's createHmac,
// and the chain's MAC check against createHmac for each algorithm and encoding.
import assert from 'node:assert/strict';
import { createHmac, createSecretKey, randomBytes, randomInt } from 'node:crypto';
import { macFunction } from '../../src/checks/audit-chain-verify.ts';
import { HmacSha256 } from '../../src/checks/hmac-sha256.ts';
import { HmacSha256x4, lanes } from '../../src/checks/hmac-sha256-x4.ts';
import type { AuditChainCheckSpec } from '../../src/drill/types.ts';
import type { CellValue } from '../../src/engines/rows.ts';

const messageLengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 1001];
const keyLengths = [1, 16, 32, 63, 64, 65, 100, 200];
const alphabets = ['abcdefghijklmnopqrstuvwxyz0123456789|-: ', 'aé€𝄞ß漢ü|'];

/** Text of at least `bytes` UTF-8 bytes (exactly, for ASCII), from `alphabet`. */
function randomText(bytes: number, alphabet: string): string {
  const chars = [...alphabet];
  let text = '';
  while (Buffer.byteLength(text) < bytes) text += chars[randomInt(chars.length)];
  return text;
}

function hmacOf(hmac: HmacSha256, message: Uint8Array): HmacSha256 {
  hmac.reserve(message.length).set(message);
  hmac.compute(message.length);
  return hmac;
}

describe('HmacSha256x4 (WebAssembly SIMD, four messages at once)', () => {
  it('equals createHmac in every lane, as words and as lower-case hex, for lanes of different lengths and fewer than four in use', () => {
    const lengths = new Int32Array(lanes);
    const words = new Int32Array(8);
    for (const keyLength of keyLengths) {
      const key = randomBytes(keyLength);
      const x4 = HmacSha256x4.create(key);
      assert.ok(x4, 'WebAssembly SIMD runs on every Node this supports');
      for (let round = 0; round < 40; round++) {
        const used = 1 + (round % lanes);
        const messages = Array.from({ length: used }, () => randomBytes(messageLengths[randomInt(messageLengths.length)]!));
        messages.forEach((message, lane) => {
          x4.clear(lane);
          x4.lanes[lane]!.reserve(message.length).set(message);
          lengths[lane] = message.length;
        });
        x4.compute(lengths, used);
        messages.forEach((message, lane) => {
          const expected = createHmac('sha256', key).update(message).digest();
          const digest = Buffer.alloc(32);
          x4.digest(lane, words).forEach((word, i) => digest.writeInt32BE(word, 4 * i));
          assert.equal(digest.toString('hex'), expected.toString('hex'), `key ${keyLength} bytes, lane ${lane} of ${used}, message ${message.length} bytes`);
          assert.equal(x4.hex.toString('latin1', 64 * lane, 64 * lane + 64), expected.toString('hex'));
        });
      }
    }
  });

  it('a message longer than a lane is written to a scratch buffer and marked overflowed, and the lane is its own again once cleared', () => {
    const x4 = HmacSha256x4.create(Buffer.from('k'))!;
    const lane = x4.lanes[1]!;
    const own = lane.message;
    lane.reserve(100);
    assert.equal(lane.overflowed, false);
    const big = lane.reserve(own.length + 10, 50);
    assert.equal(lane.overflowed, true);
    assert.notEqual(big, own);
    x4.clear(1);
    assert.equal(lane.overflowed, false);
    assert.equal(lane.message, own);
  });
});

describe('HmacSha256', () => {
  it('equals createHmac for keys shorter and longer than a block and messages across block boundaries', () => {
    for (const keyLength of keyLengths) {
      const key = randomBytes(keyLength);
      const hmac = new HmacSha256(key); // one instance for many messages, as the chain uses it
      for (const length of messageLengths) {
        for (let k = 0; k < 5; k++) {
          const message = randomBytes(length);
          const expected = createHmac('sha256', key).update(message).digest();
          hmacOf(hmac, message);
          assert.equal(hmac.hex(), expected.toString('hex'), `key ${keyLength} bytes, message ${length} bytes`);
          assert.equal(hmac.base64(), expected.toString('base64'));
        }
      }
    }
  });

  it('equals createHmac on ASCII and multi-byte UTF-8 text', () => {
    for (const alphabet of alphabets) {
      for (const keyLength of [7, 64, 90]) {
        const key = Buffer.from(randomText(keyLength, alphabet));
        const hmac = new HmacSha256(key);
        for (const length of messageLengths) {
          const text = randomText(length, alphabet);
          assert.equal(hmacOf(hmac, Buffer.from(text)).hex(), createHmac('sha256', key).update(text, 'utf8').digest('hex'), `${JSON.stringify(text)}`);
        }
      }
    }
  });

  it('grows its buffer for a long message and then still hashes short ones right', () => {
    const key = randomBytes(20);
    const hmac = new HmacSha256(key);
    for (const length of [5000, 70_000, 3, 64]) {
      const message = randomBytes(length);
      assert.equal(hmacOf(hmac, message).hex(), createHmac('sha256', key).update(message).digest('hex'));
    }
  });

  it('compares with stored hex in either case, and rejects any other text', () => {
    const key = randomBytes(32);
    const hmac = hmacOf(new HmacSha256(key), Buffer.from('row'));
    const hex = createHmac('sha256', key).update('row').digest('hex');
    assert.ok(hmac.equalsHex(hex));
    assert.ok(hmac.equalsHex(hex.toUpperCase()));
    assert.ok(!hmac.equalsHex(hex.slice(0, 63)));
    assert.ok(!hmac.equalsHex(`${hex}0`));
    for (let i = 0; i < 64; i++) {
      const flipped = hex.slice(0, i) + (hex[i] === '0' ? '1' : '0') + hex.slice(i + 1);
      assert.ok(!hmac.equalsHex(flipped), `digit ${i} changed`);
    }
    // Only a letter digit may differ in case: a decimal digit with its 0x20 bit cleared is another character.
    const digit = hex.search(/[0-9]/);
    if (digit >= 0) assert.ok(!hmac.equalsHex(hex.slice(0, digit) + String.fromCharCode(hex.charCodeAt(digit) & ~0x20) + hex.slice(digit + 1)));
  });
});

describe('macFunction', () => {
  const columns = ['seq', 'id', 'note', 'created_at'];
  const cell = (kind: CellValue['kind'], text: string): CellValue => ({ kind, text });
  const rows = Array.from({ length: 40 }, (_, i) => [
    cell('number', String(i)),
    cell('text', `evt-${i}`),
    cell('text', randomText(randomInt(0, 300), alphabets[i % 2]!)),
    cell('timestamp', `2026-01-01 00:00:${String(i).padStart(2, '0')}.5+00`),
  ]);
  const template = (t: string) => ({ template: t });
  const cases: { algorithm: AuditChainCheckSpec['algorithm']; encoding: 'hex' | 'base64'; input: AuditChainCheckSpec['input']; text: (prev: string, row: CellValue[]) => string }[] = [];
  for (const algorithm of ['HMAC-SHA256', 'HMAC-SHA512'] as const) {
    for (const encoding of ['hex', 'base64'] as const) {
      cases.push({ algorithm, encoding, input: template('{prev}|{id}|{note}|{created_at}'), text: (prev, r) => `${prev}|${r[1]!.text}|${r[2]!.text}|2026-01-01T00:00:${r[3]!.text.slice(17, 19)}.500Z` });
      cases.push({ algorithm, encoding, input: { canonicalJson: ['id', 'note'], separator: '.' }, text: (prev, r) => `${prev}.${JSON.stringify({ id: r[1]!.text, note: r[2]!.text })}` });
    }
  }
  for (const c of cases) {
    it(`${c.algorithm} ${c.encoding} ${'template' in c.input ? 'template' : 'canonical JSON'}: verifies what createHmac computed, and nothing else`, () => {
      for (const keyLength of [5, 64, 150]) {
        const key = randomBytes(keyLength);
        const check = { algorithm: c.algorithm, encoding: c.encoding, input: c.input } as AuditChainCheckSpec;
        const verifies = macFunction(check, createSecretKey(key), columns);
        let prev = '';
        for (const row of rows) {
          const stored = createHmac(c.algorithm === 'HMAC-SHA512' ? 'sha512' : 'sha256', key).update(c.text(prev, row), 'utf8').digest(c.encoding);
          assert.ok(verifies(prev, row, stored), `row ${row[0]!.text}`);
          assert.ok(!verifies(`${prev}x`, row, stored), `row ${row[0]!.text} with another prev`);
          prev = stored;
        }
      }
    });
  }
});
