import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { Client, type SFTPWrapper } from 'ssh2';
import { EnvironmentError, RestoreproofError, ExitCode, errorMessage } from '../errors.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { ArtefactSourceSpec } from '../drill/types.ts';
import type { SourceEntry, SourceReader } from './reader.ts';

/** The host keys a known_hosts text allows for host:port (plain `host`, `[host]:port` or `*`; hashed entries are not supported). */
export function knownKeys(text: string, host: string, port: number): { type: string; key: Buffer }[] {
  const names = port === 22 ? [host, `[${host}]:22`] : [`[${host}]:${port}`];
  const out: { type: string; key: Buffer }[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0]!.startsWith('#') || fields[0]!.startsWith('@')) continue;
    const hosts = fields[0]!.split(',');
    if (hosts.some((h) => h === '*' || names.includes(h))) out.push({ type: fields[1]!, key: Buffer.from(fields[2]!, 'base64') });
  }
  return out;
}

const fingerprint = (key: Buffer) => `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;

/**
 * `sftp://user@host:port/path`, authenticated with a private key from a secret reference (or
 * a password), the server's host key checked against `ssh.knownHosts` from the drill. Never
 * trusts on first use.
 */
export async function sftpReader(url: URL, spec: ArtefactSourceSpec, drillDir: string, signal: AbortSignal): Promise<SourceReader> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 22);
  const username = decodeURIComponent(url.username);
  const display = `sftp://${username ? `${username}@` : ''}${url.host}${url.pathname}`;
  const ssh = spec.ssh;
  if (!ssh?.knownHosts) throw new RestoreproofError('E_SOURCE', `${display}: ssh.knownHosts is required`, { exitCode: ExitCode.usage, hint: 'add the server key line (ssh-keyscan -p PORT HOST) as ssh.knownHosts' });
  const allowed = knownKeys(ssh.knownHosts, host, port);
  if (allowed.length === 0) throw new RestoreproofError('E_SOURCE', `${display}: ssh.knownHosts has no entry for ${port === 22 ? host : `[${host}]:${port}`}`, { exitCode: ExitCode.usage });
  const privateKey = ssh.key ? await resolveSecret(ssh.key, drillDir, `${display} ssh.key`) : undefined;
  const passphrase = ssh.passphrase ? await resolveSecret(ssh.passphrase, drillDir, `${display} ssh.passphrase`) : undefined;
  const password = ssh.password ? await resolveSecret(ssh.password, drillDir, `${display} ssh.password`) : undefined;
  if (!privateKey && !password) throw new RestoreproofError('E_SOURCE', `${display}: no ssh.key or ssh.password`, { exitCode: ExitCode.usage });

  const client = new Client();
  let offered: Buffer | undefined;
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
    const abort = () => client.end();
    signal.addEventListener('abort', abort, { once: true });
    client.once('ready', () => {
      client.sftp((err, s) => (err ? reject(err) : resolve(s)));
    });
    client.once('error', (err) => {
      signal.removeEventListener('abort', abort);
      if (offered && !allowed.some((k) => k.key.equals(offered!))) {
        reject(new RestoreproofError('E_HOST_KEY', `${display}: the host key of ${url.host} changed: the server offered ${fingerprint(offered)}, ssh.knownHosts allows ${allowed.map((k) => `${k.type} ${fingerprint(k.key)}`).join(', ')}`, {
          hint: 'if the server was legitimately re-keyed, update ssh.knownHosts from a trusted channel; otherwise someone may be impersonating the backup server',
        }));
      } else {
        // Not answering, or refusing the key: the drill could not run; the backup was never seen.
        reject(new EnvironmentError('E_SOURCE_UNREACHABLE', `${display}: ${errorMessage(err)}`, { hint: 'check the host, the port, the network path to it and ssh.key / ssh.password' }));
      }
    });
    client.connect({
      host, port, username, readyTimeout: 20000,
      ...(privateKey ? { privateKey } : {}), ...(passphrase ? { passphrase } : {}), ...(password ? { password } : {}),
      hostVerifier: (key: Buffer) => {
        offered = key;
        return allowed.some((k) => k.key.equals(key));
      },
    });
  });

  // Errors after the fetch (the server hanging up while a handle is closing) must not crash the run.
  client.on('error', () => {});
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  // ssh2's read streams close their remote handle after 'end'; ending the connection before that
  // reply fails the pending request with "No response from server", as an uncaught error.
  const streams = new Set<Readable>();
  const streamClosed = (stream: Readable) => new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));

  const root = decodeURIComponent(url.pathname) || '/';
  const pathOf = (key: string) => (key ? posix.join(root, key) : root);
  const call = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
  const statKey = async (key: string): Promise<SourceEntry | undefined> => {
    try {
      const s = await call<import('ssh2').Stats>((cb) => sftp.stat(pathOf(key), cb));
      return s.isFile() ? { key, size: s.size, mtimeMs: s.mtime * 1000 } : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    url: display,
    async list(prefix, depth) {
      const out: SourceEntry[] = [];
      const walk = async (rel: string, left: number | undefined) => {
        let list;
        try {
          list = await call<import('ssh2').FileEntryWithStats[]>((cb) => sftp.readdir(pathOf(rel), cb));
        } catch {
          return;
        }
        list.sort((a, b) => (a.filename < b.filename ? -1 : 1));
        for (const e of list) {
          const key = rel ? `${rel.replace(/\/$/, '')}/${e.filename}` : e.filename;
          if (e.attrs.isDirectory()) {
            if (left === undefined || left > 1) await walk(key, left === undefined ? undefined : left - 1);
          } else if (e.attrs.isFile()) out.push({ key, size: e.attrs.size, mtimeMs: e.attrs.mtime * 1000 });
        }
      };
      await walk(prefix.replace(/\/$/, ''), depth);
      return out;
    },
    stat: statKey,
    async open(key, start) {
      const stream = sftp.createReadStream(pathOf(key), { start }) as unknown as Readable;
      streams.add(stream);
      stream.on('error', () => {}); // the consumer's pipeline gets the error too; this one only outlives it
      stream.once('close', () => streams.delete(stream));
      return stream;
    },
    async readText(key) {
      if (!(await statKey(key))) return undefined;
      return (await call<Buffer>((cb) => sftp.readFile(pathOf(key), cb))).toString('utf8');
    },
    async close() {
      const pending = [...streams];
      for (const stream of pending) if (!stream.readableEnded) stream.destroy();
      await Promise.race([Promise.all(pending.map(streamClosed)), new Promise((r) => setTimeout(r, 10_000).unref())]);
      client.end();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000).unref())]);
    },
  };
}
