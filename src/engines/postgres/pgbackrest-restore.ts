import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { access, chown, mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ArtefactError, RestoreproofError } from '../../errors.ts';
import { pgDriver } from './connect.ts';
import { pgbackrestRestoreArgs, setOfFormat } from './pgbackrest.ts';
import type { VerifiedArtefact } from '../types.ts';
import type { PostgresRestoreStep, PostgresStoreSpec } from '../../drill/types.ts';
import { runTool } from '../../util/process.ts';
import { resolveBinary } from '../../util/tools.ts';
import type { Account, LocalServer } from '../../runtimes/local/server.ts';

export function pgbackrestBinary(): Promise<string> {
  return resolveBinary({ envVar: 'RESTOREPROOF_PGBACKREST', names: ['pgbackrest'] }, 'pgbackrest', 'install pgBackRest (Debian: apt-get install pgbackrest)');
}

/** The store's pgbackrest step, when it has one (load.ts makes it the first). */
export function pgbackrestStep(spec: PostgresStoreSpec, artefacts: VerifiedArtefact[] | undefined): { step: PostgresRestoreStep; artefact: VerifiedArtefact } | undefined {
  const artefact = artefacts?.find((a) => spec.restore[a.step]?.format === 'pgbackrest');
  return artefact ? { step: spec.restore[artefact.step]!, artefact } : undefined;
}

/**
 * `pgbackrest restore` of the repository into the server's empty data dir, as the server's
 * account. The repository is only read: the config (repo1-path, pg1-path, lock and log paths)
 * lives in the run's temp dir and the restored cluster gets archive_mode=off, so it never pushes
 * WAL into the source. Then a pg_hba.conf of our own: trust on the socket in the temp dir (only
 * the server's account and root reach it), scram over TCP. Returns the server's extra settings.
 */
export async function restorePgbackrest(options: { dir: string; data: string; step: PostgresRestoreStep; artefact: VerifiedArtefact; account: Account | undefined; signal: AbortSignal }): Promise<string[]> {
  const { dir, data, step, artefact, account, signal } = options;
  const own = async (path: string) => {
    if (account) await chown(path, account.uid, account.gid);
  };
  const binary = await pgbackrestBinary();
  const work = join(dir, 'pgbackrest');
  for (const sub of ['', 'lock', 'log', 'spool']) {
    await mkdir(join(work, sub), { recursive: true, mode: 0o700 });
    await own(join(work, sub));
  }
  const config = join(work, 'pgbackrest.conf');
  await writeFile(config, [
    '[global]', `repo1-path=${artefact.info.path}`, `lock-path=${join(work, 'lock')}`, `log-path=${join(work, 'log')}`, `spool-path=${join(work, 'spool')}`,
    'log-level-file=off', 'log-level-console=warn', '', `[${step.stanza}]`, `pg1-path=${data}`, '',
  ].join('\n'), { mode: 0o600 });
  await own(config);
  const args = pgbackrestRestoreArgs(step, setOfFormat(artefact.format), config);
  const run = await runTool({ command: binary, args, signal, cwd: dir, ...account });
  if (run.exitCode !== 0) {
    const detail = run.stderr.trim().split('\n').filter((l) => l.trim()).slice(-3).join(' | ');
    throw new ArtefactError(step.artefact, `pgbackrest restore failed (exit ${run.exitCode ?? run.signal}): ${detail}`,
      account ? `the repository must be readable by the server's account (uid ${account.uid})` : undefined);
  }
  await writeFile(join(data, 'pg_hba.conf'), '# restoreproof: generated for this ephemeral restore\nlocal all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n', { mode: 0o600 });
  await writeFile(join(data, 'pg_ident.conf'), '', { mode: 0o600 });
  await own(join(data, 'pg_hba.conf'));
  await own(join(data, 'pg_ident.conf'));
  // Debian clusters keep postgresql.conf in /etc, so a backup may hold none.
  if (!(await access(join(data, 'postgresql.conf')).then(() => true, () => false))) {
    await writeFile(join(data, 'postgresql.conf'), '# restoreproof: the backup held no postgresql.conf\n', { mode: 0o600 });
    await own(join(data, 'postgresql.conf'));
  }
  return [
    '-c', `hba_file=${join(data, 'pg_hba.conf')}`, '-c', `ident_file=${join(data, 'pg_ident.conf')}`,
    '-c', 'archive_mode=off', '-c', 'ssl=off', '-c', 'password_encryption=scram-sha-256',
  ];
}

/**
 * Waits until recovery has finished (pg_is_in_recovery() false: the end of the archived WAL, or
 * the target with promote), then creates the run's superuser with a SCRAM verifier computed here,
 * so the password never reaches the server or its log in clear.
 */
export async function finishRecovery(options: { server: LocalServer; port: number; superuser: string; password: string; ref: string; signal: AbortSignal; timeoutMs?: number }): Promise<void> {
  const { server, port, superuser, password, ref, signal } = options;
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  const users = [...new Set(['postgres', userInfo().username])];
  const pg = await pgDriver();
  let last = '';
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    if (!server.running) throw new ArtefactError(ref, `postgres exited while recovering the restored cluster:\n${server.logTail()}`);
    let missingRoles = 0;
    for (const user of users) {
      const client = new pg.Client({ host: server.dir, port, user, database: 'postgres', connectionTimeoutMillis: 2000 });
      try {
        await client.connect();
        const recovering = (await client.query<{ r: boolean }>('select pg_is_in_recovery() as r')).rows[0]!.r;
        if (recovering) {
          last = 'still replaying archived WAL';
          break;
        }
        await client.query(`create role ${pg.escapeIdentifier(superuser)} superuser login password ${pg.escapeLiteral(scramVerifier(password))}`);
        return;
      } catch (err) {
        last = (err as Error).message;
        if ((err as { code?: string }).code === '28000') missingRoles++;
      } finally {
        await client.end().catch(() => {});
      }
    }
    if (missingRoles === users.length) {
      throw new RestoreproofError('E_PROVISION', `${ref}: the restored cluster has no role ${users.join(' or ')} to bootstrap the run's superuser from (${last})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new RestoreproofError('E_PROVISION', `${ref}: recovery did not finish within ${Math.round((options.timeoutMs ?? 30 * 60_000) / 60_000)} min (${last}); log:\n${server.logTail()}`);
}

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as PostgreSQL stores it (RFC 5802/7677). */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
