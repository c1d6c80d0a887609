import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a real CLI (tar, openssl, sha256sum); throws with its stderr. */
export async function sh(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const { stdout } = await run(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export interface EncryptOptions {
  kdf: 'pbkdf2' | 'legacy';
  iterations?: number;
  digest?: string;
}

/** `openssl enc -aes-256-cbc -salt`, the passphrase through the environment as backup scripts pass it. */
export async function opensslEncrypt(input: string, output: string, passphrase: string, options: EncryptOptions): Promise<void> {
  const args = ['enc', '-aes-256-cbc', '-salt', '-in', input, '-out', output, '-pass', 'env:RP_TEST_PASS', '-md', options.digest ?? 'sha256'];
  if (options.kdf === 'pbkdf2') args.push('-pbkdf2', '-iter', String(options.iterations ?? 10000));
  await sh('openssl', args, { env: { RP_TEST_PASS: passphrase } });
}

/**
 * One night of the "folder per date" layout: `<root>/<date>/<store>_backup_<date>.tar.gz.enc`
 * (tar -czf of the dump, then openssl enc) with a `.sha256` sidecar written by sha256sum.
 */
export async function datedBackup(root: string, date: string, store: string, member: string, file: string, passphrase: string, enc: EncryptOptions = { kdf: 'pbkdf2' }): Promise<string> {
  const folder = join(root, date);
  const work = join(root, `.work-${date}-${store}`);
  await mkdir(folder, { recursive: true });
  await mkdir(work, { recursive: true });
  // A directory (a bucket's filesystem copy) goes into the tar whole.
  await cp(file, join(work, member), { recursive: true });
  const tgz = join(work, `${store}_backup_${date}.tar.gz`);
  await sh('tar', ['-czf', tgz, '-C', work, member]);
  const name = `${store}_backup_${date}.tar.gz.enc`;
  await opensslEncrypt(tgz, join(folder, name), passphrase, enc);
  await writeFile(join(folder, `${name}.sha256`), await sh('sha256sum', [name], { cwd: folder }));
  await sh('rm', ['-rf', work]);
  return join(folder, name);
}

/** `age -r <recipient>` (the real CLI). */
export async function ageEncryptTo(input: string, output: string, recipient: string): Promise<void> {
  await sh('age', ['-r', recipient, '-o', output, input]);
}

/**
 * `age --passphrase` (the real CLI). age reads a passphrase only from a terminal, so it runs under
 * `script`, which gives it a pseudo-terminal fed from stdin (the passphrase twice: entry, confirmation).
 */
export async function ageEncryptWithPassphrase(input: string, output: string, passphrase: string): Promise<void> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('script', ['-qec', `age --passphrase -o ${quote(output)} ${quote(input)}`, '/dev/null'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`age --passphrase exited with ${code}: ${stderr}`))));
    child.stdin.end(`${passphrase}\n${passphrase}\n`);
  });
}
