import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { RunReport } from '../report/types.ts';

/** Sortable and unique: UTC time plus 6 random hex digits, e.g. 20261121T193700Z-3fa9c1. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export function detectTrigger(env = process.env): RunReport['trigger'] {
  const actor = env.GITHUB_ACTOR ?? env.GITLAB_USER_LOGIN ?? env.USER ?? safeUser();
  if (env.GITHUB_ACTIONS === 'true') {
    const jobUrl = env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
    return { kind: 'ci', provider: 'github-actions', ...(jobUrl ? { jobUrl } : {}), actor };
  }
  if (env.GITLAB_CI === 'true') return { kind: 'ci', provider: 'gitlab-ci', ...(env.CI_JOB_URL ? { jobUrl: env.CI_JOB_URL } : {}), actor };
  if (env.CI === 'true') return { kind: 'ci', provider: 'generic', actor };
  return { kind: 'manual', actor };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export function hostInfo(): RunReport['host'] {
  return { hostname: hostname(), platform: `${process.platform}-${process.arch}` };
}
