import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * A process as gc, the reaper and the history lock tell it apart from a later process that got
 * the same pid: the pid, its start time (field 22 of /proc/<pid>/stat, clock ticks since boot),
 * the boot it started in and the host.
 */
export interface ProcessIdentity {
  pid: number;
  /** Empty where /proc is not readable (not Linux): then only the pid is compared. */
  start: string;
  boot: string;
  host: string;
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

/** Start time of `pid` from /proc/<pid>/stat, or '' when it does not exist (or no /proc). */
export function processStartTime(pid: number): string {
  const stat = read(`/proc/${pid}/stat`);
  // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return stat ? (fields[19] ?? '') : '';
}

const bootId = () => read('/proc/sys/kernel/random/boot_id').trim();

export function processIdentity(pid = process.pid): ProcessIdentity {
  return { pid, start: processStartTime(pid), boot: bootId(), host: hostname() };
}

/**
 * Whether the process still runs: `unknown` when it ran on another host (gc and the lock then
 * leave its resources alone), false when this machine rebooted since, or the pid is gone or
 * belongs to a process started later.
 */
export function processAlive(owner: ProcessIdentity): boolean | 'unknown' {
  if (owner.host !== hostname()) return 'unknown';
  if (owner.boot && bootId() && owner.boot !== bootId()) return false;
  if (owner.start) return processStartTime(owner.pid) === owner.start;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads an identity written by `processIdentity` (a file's JSON, or labels); undefined when incomplete. */
export function parseIdentity(value: Partial<Record<keyof ProcessIdentity, unknown>> | undefined): ProcessIdentity | undefined {
  const pid = Number(value?.pid);
  if (!value || !Number.isInteger(pid) || pid <= 0 || typeof value.host !== 'string') return undefined;
  return { pid, start: String(value.start ?? ''), boot: String(value.boot ?? ''), host: value.host };
}
