import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { RestoreproofError, ExitCode } from '../errors.ts';
import { sha256 } from '../util/hash.ts';

/**
 * DSSE (Dead Simple Signing Envelope, https://github.com/secure-systems-lab/dsse) with Ed25519
 * through node:crypto. Written by hand: the protocol is the PAE below plus base64, and the npm
 * libraries that carry it (@sigstore/core) offer only PAE and tie envelopes to Sigstore bundles.
 */
export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

export const inTotoPayloadType = 'application/vnd.in-toto+json';

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** Key id: sha256 (hex) of the public key's SPKI DER encoding. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256(pub.export({ type: 'spki', format: 'der' }));
}

export function signEnvelope(payloadType: string, payload: Uint8Array, privateKey: KeyObject): DsseEnvelope {
  const sig = sign(null, preAuthEncoding(payloadType, payload), privateKey);
  return { payloadType, payload: Buffer.from(payload).toString('base64'), signatures: [{ keyid: keyIdOf(privateKey), sig: sig.toString('base64') }] };
}

export type EnvelopeCheck = { ok: true; keyId: string; payload: Buffer } | { ok: false; reason: string };

/** Verifies that one of the envelope's signatures is by one of `keys`. */
export function verifyEnvelope(envelope: DsseEnvelope, keys: readonly KeyObject[]): EnvelopeCheck {
  if (typeof envelope?.payloadType !== 'string' || typeof envelope.payload !== 'string' || !Array.isArray(envelope.signatures)) {
    return { ok: false, reason: 'not a DSSE envelope (payloadType, payload, signatures)' };
  }
  const payload = Buffer.from(envelope.payload, 'base64');
  if (payload.toString('base64') !== envelope.payload.replace(/\s/g, '')) return { ok: false, reason: 'payload is not valid base64' };
  if (envelope.signatures.length === 0) return { ok: false, reason: 'envelope has no signatures' };
  const byId = new Map(keys.map((k) => [keyIdOf(k), k]));
  const pae = preAuthEncoding(envelope.payloadType, payload);
  const ids: string[] = [];
  for (const s of envelope.signatures) {
    ids.push(s.keyid);
    const key = byId.get(s.keyid);
    if (!key) continue;
    if (verify(null, pae, key, Buffer.from(s.sig, 'base64'))) return { ok: true, keyId: s.keyid, payload };
    return { ok: false, reason: `signature by key ${short(s.keyid)} does not verify: the envelope was altered after signing` };
  }
  if (keys.length === 0) return { ok: false, reason: `no public key given to check the signature of key ${ids.map(short).join(', ')} (pass --key <file.pub>)` };
  return { ok: false, reason: `signed by key ${ids.map(short).join(', ')}, not by the given key ${[...byId.keys()].map(short).join(', ')}` };
}

const short = (id: string) => id.slice(0, 16);

export async function readPrivateKey(path: string): Promise<KeyObject> {
  const key = await readKey(path, (pem) => createPrivateKey(pem), 'private');
  if (key.asymmetricKeyType !== 'ed25519') throw new RestoreproofError('E_SIGN', `${path}: an ${key.asymmetricKeyType} key; restoreproof signs with Ed25519`, { exitCode: ExitCode.usage, hint: 'make one with: restoreproof keygen --out <path>' });
  return key;
}

/** A public key file; a private key file is accepted too (its public half is used). */
export async function readPublicKey(path: string): Promise<KeyObject> {
  return readKey(path, (pem) => createPublicKey(pem), 'public');
}

async function readKey(path: string, parse: (pem: string) => KeyObject, what: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new RestoreproofError('E_SIGN', `cannot read ${what} key ${path} (${(err as NodeJS.ErrnoException).code ?? err})`, { exitCode: ExitCode.usage, hint: 'make a key pair with: restoreproof keygen --out <path>' });
  }
  try {
    return parse(pem);
  } catch {
    // Never echo the file: it may hold a private key.
    throw new RestoreproofError('E_SIGN', `${path} is not a PEM ${what} key`, { exitCode: ExitCode.usage });
  }
}

/** Writes `<path>` (PKCS#8 PEM, mode 0600) and `<path>.pub` (SPKI PEM); refuses to overwrite unless forced. */
export async function generateSigningKey(path: string, options: { force?: boolean } = {}): Promise<{ keyId: string; publicKeyFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const flag = options.force ? 'w' : 'wx';
  try {
    await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag });
    await writeFile(`${path}.pub`, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RestoreproofError('E_USAGE', `${(err as NodeJS.ErrnoException).path ?? path} already exists`, { exitCode: ExitCode.usage, hint: 'pass --force to replace it' });
    throw err;
  }
  // A forced overwrite keeps the old mode: make sure the private key is 0600 either way.
  await chmod(path, 0o600);
  return { keyId: keyIdOf(publicKey), publicKeyFile: `${path}.pub` };
}
