import { createDecipheriv, createHash, pbkdf2Sync, type Decipheriv } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { ArtefactError } from '../errors.ts';
import type { AgeDecryptSpec, OpensslDecryptSpec } from '../drill/types.ts';

const magic = Buffer.from('Salted__');

/**
 * An id for the key an artefact was encrypted with, safe to publish: PBKDF2 of the passphrase
 * with a fixed label and many iterations, so it names the key without making a guess cheap.
 */
export function passphraseKeyId(passphrase: string): string {
  return `pbkdf2-sha256:${pbkdf2Sync(passphrase, 'restoreproof/key-id/v1', 200_000, 32, 'sha256').toString('hex').slice(0, 16)}`;
}

/** EVP_BytesToKey with one iteration: what `openssl enc` derives without -pbkdf2. */
function evpBytesToKey(passphrase: Buffer, salt: Buffer, digest: string, length: number): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  let prev = Buffer.alloc(0);
  while (total < length) {
    prev = createHash(digest).update(prev).update(passphrase).update(salt).digest();
    out.push(prev);
    total += prev.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

export interface OpensslDecryption {
  method: string;
  keyId: string;
  stream: Readable;
  decipher: Decipheriv;
}

/**
 * Streams an `openssl enc -aes-256-cbc` file (the `Salted__` header, then ciphertext) through a
 * decipher. Padding errors at the end (a wrong passphrase, a wrong derivation, or truncation)
 * surface as errors of the returned stream; see `decryptError`.
 */
export async function opensslDecrypt(path: string, size: number, spec: OpensslDecryptSpec, passphrase: string, ref: string): Promise<OpensslDecryption> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(16);
  try {
    await handle.read(head, 0, 16, 0);
  } finally {
    await handle.close();
  }
  if (size < 32 || !head.subarray(0, 8).equals(magic)) {
    throw new ArtefactError(ref, `cannot decrypt ${ref}: not an openssl enc file with a salt (no Salted__ header${size < 32 ? `, only ${size} bytes` : ''})`, 'the backup must be written by `openssl enc -aes-256-cbc -salt`');
  }
  if ((size - 16) % 16 !== 0) {
    throw new ArtefactError(ref, `cannot decrypt ${ref}: truncated ciphertext (${size - 16} bytes after the header is not a whole number of 16-byte AES blocks)`, 'the backup file is incomplete; fetch it again or pick another');
  }
  const salt = head.subarray(8, 16);
  const kdf = spec.kdf ?? 'pbkdf2';
  const digest = spec.digest ?? 'sha256';
  const iterations = spec.iterations ?? 10000;
  const material = kdf === 'pbkdf2' ? pbkdf2Sync(passphrase, salt, iterations, 48, digest) : evpBytesToKey(Buffer.from(passphrase, 'utf8'), salt, digest, 48);
  const decipher = createDecipheriv('aes-256-cbc', material.subarray(0, 32), material.subarray(32, 48));
  const stream = createReadStream(path, { start: 16 });
  return {
    method: `openssl enc aes-256-cbc, ${kdf === 'pbkdf2' ? `pbkdf2 ${digest} ${iterations} iterations` : `EVP_BytesToKey ${digest}`}`,
    keyId: passphraseKeyId(passphrase),
    stream,
    decipher,
  };
}

/** Turns OpenSSL's "bad decrypt" into what a user can act on. */
export function decryptError(ref: string, err: unknown, spec: OpensslDecryptSpec): ArtefactError {
  const msg = (err as Error).message ?? String(err);
  return new ArtefactError(ref, `cannot decrypt ${ref}: wrong passphrase or key derivation, or a damaged file (${msg.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/i, '')})`, `check the passphrase and that kdf (${spec.kdf ?? 'pbkdf2'}), iterations (${spec.iterations ?? 10000}) and digest (${spec.digest ?? 'sha256'}) match the openssl enc command that wrote it`);
}

export interface AgeDecryption {
  method: string;
  keyId: string;
  stream: Readable;
}

const ageMagic = 'age-encryption.org/v1\n';

/**
 * Streams an `age` file through the reference TypeScript implementation (age-encryption, by the
 * format's author). The header is checked before anything is streamed: a wrong identity or
 * passphrase fails here; a truncated or altered payload fails as an error of the stream.
 */
export async function ageDecrypt(path: string, spec: AgeDecryptSpec, secret: string, ref: string): Promise<AgeDecryption> {
  const { Decrypter, identityToRecipient } = await import('age-encryption');
  const handle = await open(path, 'r');
  const head = Buffer.alloc(64);
  let read: number;
  try {
    ({ bytesRead: read } = await handle.read(head, 0, 64, 0));
  } finally {
    await handle.close();
  }
  const text = head.subarray(0, read).toString('latin1');
  if (text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')) {
    throw new ArtefactError(ref, `cannot decrypt ${ref}: it is an ASCII-armored age file`, 'write backups with age without --armor (armor is for pasting small files, not streaming archives)');
  }
  if (!text.startsWith(ageMagic)) throw new ArtefactError(ref, `cannot decrypt ${ref}: not an age file (no "age-encryption.org/v1" header)`, 'the backup must be written by age (or rage) without --armor');
  const decrypter = new Decrypter();
  let keyId: string;
  if (spec.identity) {
    const identities = secret.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^AGE-SECRET-KEY-/i.test(l));
    if (!identities.length) throw new ArtefactError(ref, `cannot decrypt ${ref}: decrypt.age.identity holds no AGE-SECRET-KEY-1… line`, 'give the content of an identity file written by age-keygen');
    const recipients: string[] = [];
    for (const id of identities) {
      try {
        decrypter.addIdentity(id);
        recipients.push(await identityToRecipient(id));
      } catch (err) {
        throw new ArtefactError(ref, `cannot decrypt ${ref}: decrypt.age.identity has an invalid identity (${(err as Error).message})`);
      }
    }
    // The public recipient names the key without revealing it.
    keyId = recipients.join(',');
  } else {
    decrypter.addPassphrase(secret);
    keyId = passphraseKeyId(secret);
  }
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await decrypter.decrypt(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>);
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    const hint = spec.identity ? 'the file was encrypted to other recipients: check decrypt.age.identity' : 'check decrypt.age.passphrase';
    throw new ArtefactError(ref, `cannot decrypt ${ref}: ${/no identity matched|invalid header HMAC|incorrect passphrase|failed to decrypt/i.test(message) ? `wrong ${spec.identity ? 'identity' : 'passphrase'} (${message})` : `damaged age header (${message})`}`, hint);
  }
  return { method: `age (${spec.identity ? 'X25519 identity' : 'scrypt passphrase'})`, keyId, stream: Readable.fromWeb(stream as import('node:stream/web').ReadableStream<Uint8Array>) };
}
