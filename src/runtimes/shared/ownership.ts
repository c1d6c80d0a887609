import { parseDuration } from '../../util/duration.ts';
import { parseIdentity, processAlive, processIdentity, type ProcessIdentity } from '../../util/owner.ts';

/** Labels (annotations on Kubernetes) naming the harness that created a resource, so gc can tell whether it still runs. */
export const LABEL_HARNESS_PID = 'restoreproof.harness-pid';
export const LABEL_HARNESS_START = 'restoreproof.harness-start';
export const LABEL_HARNESS_BOOT = 'restoreproof.harness-boot';
export const LABEL_HARNESS_HOST = 'restoreproof.harness-host';

const defaultTtlMs = 24 * 3_600_000;

/** How long a run's leftovers may live: RESTOREPROOF_CONTAINER_TTL (default 24h), read when a resource is created and recorded on it. */
export function expiresAt(now = new Date()): string {
  const ttl = parseDuration(process.env.RESTOREPROOF_CONTAINER_TTL ?? '') || defaultTtlMs;
  return new Date(now.getTime() + ttl).toISOString();
}

/** A run id's start time (`20261121T193700Z-3fa9c1`), or undefined for another label value. */
export function runStartedAt(runId: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(runId);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : undefined;
}

/** Leftovers recorded before expiry was: the run id's start plus the default TTL (never the current environment's). */
export function defaultExpiry(runId: string): string {
  const started = runStartedAt(runId);
  return started ? new Date(started.getTime() + defaultTtlMs).toISOString() : '';
}

export function harnessLabels(owner: ProcessIdentity = processIdentity()): Record<string, string> {
  return { [LABEL_HARNESS_PID]: String(owner.pid), [LABEL_HARNESS_START]: owner.start, [LABEL_HARNESS_BOOT]: owner.boot, [LABEL_HARNESS_HOST]: owner.host };
}

export function harnessFromLabels(labels: Record<string, string> | undefined): ProcessIdentity | undefined {
  return parseIdentity({ pid: labels?.[LABEL_HARNESS_PID], start: labels?.[LABEL_HARNESS_START], boot: labels?.[LABEL_HARNESS_BOOT], host: labels?.[LABEL_HARNESS_HOST] });
}

export interface GcOptions {
  now?: Date;
  dryRun?: boolean;
  /** Also remove runs started longer ago than this, expired or not (their harness gone). */
  olderThanMs?: number;
}

export interface RunOwnership {
  runId: string;
  /** As recorded at creation. */
  expiresAt: string;
  /** When the run (or, without a run id, the resource) started. */
  startedAt: Date | undefined;
  harness: ProcessIdentity | undefined;
}

/**
 * Whether gc may remove a run's resources. Never while its harness runs. A harness on another
 * host cannot be checked, so only the expiry recorded at creation lets its resources go; a
 * harness known to be gone (or none recorded) lets them go once expired or older than --older-than.
 */
export function gcDecision(run: RunOwnership, options: GcOptions): { remove: boolean; reason: string } {
  const now = (options.now ?? new Date()).getTime();
  const at = Date.parse(run.expiresAt);
  const expired = Number.isFinite(at) && at <= now;
  const alive = run.harness ? processAlive(run.harness) : false;
  const h = run.harness;
  if (alive === true) return { remove: false, reason: `its harness (pid ${h!.pid}) still runs` };
  if (expired) return { remove: true, reason: `expired at ${run.expiresAt}` };
  const unexpired = Number.isFinite(at) ? `expires at ${run.expiresAt}` : 'no valid restoreproof.expires-at';
  if (alive === 'unknown') return { remove: false, reason: `${unexpired}; its harness ran on ${h!.host}, where this gc cannot tell whether it still runs` };
  const age = run.startedAt ? now - run.startedAt.getTime() : undefined;
  if (options.olderThanMs !== undefined && age !== undefined && age >= options.olderThanMs) {
    return { remove: true, reason: `started ${formatAge(age)} ago (--older-than), and its harness is gone` };
  }
  return { remove: false, reason: unexpired };
}

function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h`;
}

/** `--older-than`: a duration such as 30m, 2h or 1h30m. */
export function parseOlderThan(text: string): number | undefined {
  return /^(\d+(ms|s|m|h|d))+$/.test(text) ? parseDuration(text) : undefined;
}
