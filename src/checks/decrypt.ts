import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { RestoreproofError } from '../errors.ts';
import type { StartedStore } from '../runtimes/types.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { DecryptCheckSpec } from '../drill/types.ts';
import { rowTarget, type CellValue, type RowSource } from '../engines/rows.ts';
import type { CheckOutcome } from './types.ts';

/**
 * Supported layouts (the stored value, after base64/hex decoding; bytea and BSON binary are raw):
 * - aes-256-gcm: nonce (12 bytes) | ciphertext | tag (16 bytes); key 32 bytes; no AAD.
 * - aes-256-cbc-hmac-sha256 (encrypt-then-MAC): iv (16) | ciphertext (PKCS#7 padded) | tag (32),
 *   tag = HMAC-SHA256(macKey, iv | ciphertext); key 64 bytes = encKey (32) | macKey (32).
 */
export const cipherLayouts = {
  'aes-256-gcm': { keyBytes: 32, layout: 'nonce(12) | ciphertext | tag(16)' },
  'aes-256-cbc-hmac-sha256': { keyBytes: 64, layout: 'iv(16) | ciphertext | HMAC-SHA256(macKey, iv|ciphertext)(32); key = encKey(32) | macKey(32)' },
} as const;

/** Opens one value; throws an Error saying why it does not (never with key or plaintext). Returns the plaintext length. */
export function openValue(cipher: DecryptCheckSpec['cipher'], key: Buffer, data: Buffer): number {
  if (cipher === 'aes-256-gcm') {
    if (data.length < 12 + 16) throw new Error(`${data.length} bytes is shorter than nonce and tag (28)`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
    decipher.setAuthTag(data.subarray(data.length - 16));
    const plain = decipher.update(data.subarray(12, data.length - 16));
    try {
      return plain.length + decipher.final().length;
    } catch {
      throw new Error('authentication failed (GCM tag does not match)');
    }
  }
  if (data.length < 16 + 16 + 32) throw new Error(`${data.length} bytes is shorter than iv, one block and tag (64)`);
  const body = data.subarray(0, data.length - 32);
  const tag = data.subarray(data.length - 32);
  const expected = createHmac('sha256', key.subarray(32)).update(body).digest();
  if (!timingSafeEqual(expected, tag)) throw new Error('authentication failed (HMAC-SHA256 tag does not match)');
  const decipher = createDecipheriv('aes-256-cbc', key.subarray(0, 32), body.subarray(0, 16));
  try {
    return decipher.update(body.subarray(16)).length + decipher.final().length;
  } catch {
    throw new Error('authenticated but does not decrypt (bad padding: wrong encryption key half?)');
  }
}

function decode(cell: CellValue, encoding: DecryptCheckSpec['encoding']): Buffer {
  if (cell.kind === 'bytes') return Buffer.from(cell.text, 'hex');
  if (encoding === 'hex') {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(cell.text)) throw new Error('not valid hex');
    return Buffer.from(cell.text, 'hex');
  }
  if (encoding === 'raw') return Buffer.from(cell.text, 'utf8');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(cell.text)) throw new Error('not valid base64');
  return Buffer.from(cell.text, 'base64');
}

export interface DecryptContext {
  store: StartedStore;
  /** The store's engine's row streaming. */
  rows: RowSource;
  database: string;
  drillDir: string;
  signal: AbortSignal;
}

/** Samples N non-null values of the column and opens each; passes when every one decrypts and authenticates. */
export async function runDecrypt(check: DecryptCheckSpec, context: DecryptContext): Promise<CheckOutcome> {
  const { keyBytes, layout } = cipherLayouts[check.cipher];
  const sample = check.sample ?? 20;
  const target = rowTarget(check, context.rows, context.database);
  const where = `${target.where}.${check.column}`;
  const expected = `${sample} sampled values of ${where} decrypt and authenticate with ${check.cipher} (${layout})`;
  const keyEncoding = check.keyEncoding ?? 'base64';
  const key = Buffer.from(await resolveSecret(check.key, context.drillDir, 'decrypt key'), keyEncoding);
  if (key.length !== keyBytes) throw new RestoreproofError('E_CHECK', `the decrypt key is ${key.length} bytes as ${keyEncoding}; ${check.cipher} needs ${keyBytes}`);
  const source = await context.rows.stream(context.store, { database: context.database, relation: target.relation, columns: [check.column], sample: true, limit: sample, signal: context.signal });
  let sampled = 0;
  let opened = 0;
  const failures: { row: number; reason: string }[] = [];
  try {
    for await (const [cell] of source.rows) {
      sampled++;
      try {
        openValue(check.cipher, key, decode(cell!, check.encoding ?? 'base64'));
        opened++;
      } catch (err) {
        if (failures.length < 5) failures.push({ row: sampled, reason: (err as Error).message });
      }
    }
  } finally {
    await source.close();
  }
  const actual = { sampled, decrypted: opened, failed: sampled - opened, ...(failures.length ? { failures } : {}) };
  if (sampled === 0) return { passed: false, expected, actual, message: `${where} has no non-null values to sample` };
  if (opened === sampled) return { passed: true, expected, actual, message: `${opened} of ${sampled} sampled values decrypt and authenticate` };
  return { passed: false, expected, actual, message: `${sampled - opened} of ${sampled} sampled values do not open: ${failures.map((f) => `sample ${f.row}: ${f.reason}`).join('; ')}` };
}
