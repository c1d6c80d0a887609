import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../../run/context.ts';
import type { GcAction } from '../types.ts';

/** `restoreproof-<run id>-…`: every temp dir of a local run (servers' data dirs, staging) is named so. */
const runDir = /^restoreproof-(\d{8}T\d{6}Z-[0-9a-f]{6})-/;

export type LocalGcAction = GcAction<'directory' | 'process'>;

/** When a run's leftovers may go: the run id's start time plus RESTOREPROOF_CONTAINER_TTL (default 24h), as on the other runtimes. */
export function localExpiry(runId: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(runId)!;
  const started = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const ttl = parseDuration(process.env.RESTOREPROOF_CONTAINER_TTL ?? '') || 24 * 3_600_000;
  return new Date(started + ttl);
}

/** Processes whose command line names a dir of the run (servers started by the local runtime do: -D, --dir, --data-root …). */
async function processesOf(marker: string): Promise<{ pid: number; command: string }[]> {
  const out: { pid: number; command: string }[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker)) out.push({ pid: Number(entry), command: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 200) });
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after `graceMs`; true once the process is gone. */
async function stopProcess(pid: number, graceMs: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return !alive(pid);
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return !alive(pid);
}

/**
 * Leftovers of local runs whose harness was killed before its teardown (or `--keep` runs): the
 * temp dirs named after the run id, and the server processes that name them. Once the run has
 * expired, its processes are stopped and its dirs removed; newer runs and anything not named
 * `restoreproof-<run id>-…` are left alone.
 */
export async function collectLocalLeftovers(options: { now?: Date; dryRun?: boolean; dir?: string; graceMs?: number } = {}): Promise<LocalGcAction[]> {
  const now = options.now ?? new Date();
  const dir = options.dir ?? tmpdir();
  const byRun = new Map<string, string[]>();
  for (const name of await readdir(dir)) {
    const run = runDir.exec(name)?.[1];
    if (run) byRun.set(run, [...(byRun.get(run) ?? []), name]);
  }
  const actions: LocalGcAction[] = [];
  for (const [run, names] of [...byRun].sort()) {
    const expires = localExpiry(run);
    const base = { run, expiresAt: expires.toISOString() };
    const processes = await processesOf(`restoreproof-${run}-`);
    if (expires > now) {
      for (const name of names) actions.push({ ...base, kind: 'directory', id: join(dir, name), name, action: 'kept', reason: `expires at ${base.expiresAt}` });
      for (const p of processes) actions.push({ ...base, kind: 'process', id: String(p.pid), name: p.command, action: 'kept', reason: `expires at ${base.expiresAt}` });
      continue;
    }
    const reason = `expired at ${base.expiresAt}`;
    let stopped = true;
    for (const p of processes) {
      if (options.dryRun) {
        actions.push({ ...base, kind: 'process', id: String(p.pid), name: p.command, action: 'removed', reason });
        continue;
      }
      const ok = await stopProcess(p.pid, options.graceMs ?? 10_000);
      stopped &&= ok;
      actions.push({ ...base, kind: 'process', id: String(p.pid), name: p.command, action: ok ? 'removed' : 'failed', reason: ok ? reason : `${reason}; still running after SIGKILL` });
    }
    for (const name of names) {
      const path = join(dir, name);
      if (options.dryRun) {
        actions.push({ ...base, kind: 'directory', id: path, name, action: 'removed', reason });
        continue;
      }
      if (!stopped) {
        actions.push({ ...base, kind: 'directory', id: path, name, action: 'kept', reason: `${reason}, but a process of the run still runs` });
        continue;
      }
      try {
        await rm(path, { recursive: true, force: true });
        actions.push({ ...base, kind: 'directory', id: path, name, action: 'removed', reason });
      } catch (err) {
        actions.push({ ...base, kind: 'directory', id: path, name, action: 'failed', reason: `${reason}; ${(err as Error).message}` });
      }
    }
  }
  return actions;
}
