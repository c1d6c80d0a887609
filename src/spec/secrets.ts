import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RestoreproofError, ExitCode } from '../errors.ts';
import { registerSecret } from '../util/redact.ts';
import type { SecretRef } from './types.ts';

/** Reads a secret reference; the value is registered for redaction before anyone sees it. */
export async function resolveSecret(ref: SecretRef, baseDir: string, what: string): Promise<string> {
  let value: string | undefined;
  if ('env' in ref) {
    value = process.env[ref.env];
    if (value === undefined) throw new RestoreproofError('E_SECRET', `${what}: environment variable ${ref.env} is not set`, { exitCode: ExitCode.usage, hint: `export ${ref.env}=... before running the drill` });
  } else {
    const path = resolve(baseDir, ref.file);
    try {
      value = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new RestoreproofError('E_SECRET', `${what}: cannot read secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, { exitCode: ExitCode.usage });
    }
  }
  registerSecret(value);
  return value;
}
