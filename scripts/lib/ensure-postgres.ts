// Makes sure a PostgreSQL server is installed: on a fresh Debian machine, as root, it installs it.
import { execFileSync } from 'node:child_process';
import { writeFileSync, rmSync, existsSync } from 'node:fs';
import { findPostgresBinDir } from '../../src/engines/postgres/local.ts';

export async function ensurePostgres(version = '15'): Promise<string> {
  try {
    return await findPostgresBinDir({ version });
  } catch (err) {
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) throw err;
  }
  console.error(`installing postgresql-${version} from Debian packages…`);
  // Keep the package from starting its own cluster: restoreproof starts the servers it needs.
  const policy = '/usr/sbin/policy-rc.d';
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', `postgresql-${version}`, `postgresql-client-${version}`], { stdio: 'inherit', env });
  } finally {
    if (!hadPolicy) rmSync(policy, { force: true });
  }
  return findPostgresBinDir({ version });
}
