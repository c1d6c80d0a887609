import { readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseIdentity, processIdentity } from '../../util/owner.ts';
import { defaultExpiry, expiresAt, gcDecision, runStartedAt, type GcOptions } from '../shared/ownership.ts';
import type { GcAction } from '../types.ts';
import { localRunRoots } from './data-root.ts';
import { STOP_SIGNAL_FILE } from './server.ts';

/** `restoreproof-<run id>-…`: every temp dir of a local run (servers' data dirs, staging) is named so, in any of localRunRoots. */
const runDir = /^restoreproof-(\d{8}T\d{6}Z-[0-9a-f]{6})-/;

export type LocalGcAction = GcAction<'directory' | 'file' | 'process'>;

const kindOf = (name: string) => (name.endsWith('-owner.json') ? ('file' as const) : ('directory' as const));

/** `<tmpdir>/restoreproof-<run id>-owner.json`: the harness of the run and the expiry, recorded when the run starts. */
export const ownerFile = (runId: string, dir = tmpdir()) => join(dir, `restoreproof-${runId}-owner.json`);

/** Records who runs `runId` and until when its leftovers must stay (RESTOREPROOF_CONTAINER_TTL as it is now). */
export async function writeOwnerFile(runId: string, dir = tmpdir()): Promise<string> {
  const file = ownerFile(runId, dir);
  await writeFile(file, `${JSON.stringify({ runId, expiresAt: expiresAt(), harness: processIdentity() })}\n`, { mode: 0o644 });
  return file;
}

async function readOwnerFile(runId: string, paths: string[]) {
  try {
    const file = paths.find((p) => basename(p) === basename(ownerFile(runId)));
    if (!file) throw new Error('no owner file');
    const owner = JSON.parse(await readFile(file, 'utf8')) as { expiresAt?: unknown; harness?: Record<string, unknown> };
    return { expiresAt: typeof owner.expiresAt === 'string' ? owner.expiresAt : defaultExpiry(runId), harness: parseIdentity(owner.harness) };
  } catch {
    // A run from before the owner file, or a harness killed before writing it.
    return { expiresAt: defaultExpiry(runId), harness: undefined };
  }
}

interface RunProcess {
  pid: number;
  command: string;
  /** The signal its server declared (STOP_SIGNAL_FILE in its run dir), else SIGTERM. */
  stopSignal: NodeJS.Signals;
}

/**
 * Processes of a run: those whose command line names one of its dirs (the servers: -D, --dir,
 * --data-root …, and initdb) and those whose environment carries RESTOREPROOF_RUN_ID=<run id>
 * (the app, and every process it started).
 */
async function processesOf(runId: string, roots: string[]): Promise<RunProcess[]> {
  const marker = `restoreproof-${runId}-`;
  const env = `RESTOREPROOF_RUN_ID=${runId}\0`;
  const out: RunProcess[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline) continue; // gone, or a kernel thread
    if (!cmdline.includes(marker) && !(await runsInRunDir(entry, marker)) && !(await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '')).includes(env)) continue;
    out.push({ pid: Number(entry), command: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 200), stopSignal: await declaredStopSignal(entry, cmdline, marker, roots) });
  }
  return out;
}

/** The stop signal the server in the run dir it works in (its cwd) or names (its command line) declared. */
async function declaredStopSignal(pid: string, cmdline: string, marker: string, roots: string[]): Promise<NodeJS.Signals> {
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
  const runDirName = [cwd, cmdline].map((text) => new RegExp(`${marker}[^/\\s\\0]+`).exec(text)?.[0]).find(Boolean);
  if (!runDirName) return 'SIGTERM';
  for (const root of roots) {
    const declared = (await readFile(join(root, runDirName, STOP_SIGNAL_FILE), 'utf8').catch(() => '')).trim();
    if (/^SIG[A-Z0-9]+$/.test(declared)) return declared as NodeJS.Signals;
  }
  return 'SIGTERM';
}

/** redis-server rewrites its title over argv and environ; its working dir (`dir`) still names the run. */
async function runsInRunDir(pid: string, marker: string): Promise<boolean> {
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
  return cwd.includes(marker);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The engine's stop signal, then SIGKILL after `graceMs`; true once the process is gone. */
async function stopProcess(p: RunProcess, graceMs: number): Promise<boolean> {
  try {
    process.kill(p.pid, p.stopSignal);
  } catch {
    return !alive(p.pid);
  }
  const deadline = Date.now() + graceMs;
  while (alive(p.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(p.pid)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return !alive(p.pid);
}

interface SweepOptions {
  roots: string[];
  dryRun?: boolean;
  graceMs?: number;
  reason: string;
}

/** Stops a run's processes (all at once), then removes its dirs and owner file; a dir stays while a process of the run still runs. */
async function sweepRun(run: string, paths: string[], base: Omit<LocalGcAction, 'kind' | 'id' | 'name' | 'action' | 'reason'>, options: SweepOptions): Promise<LocalGcAction[]> {
  const { reason } = options;
  const processes = await processesOf(run, options.roots);
  const actions: LocalGcAction[] = [];
  const stopped = await Promise.all(processes.map(async (p) => {
    const ok = options.dryRun || (await stopProcess(p, options.graceMs ?? 10_000));
    actions.push({ ...base, kind: 'process', id: String(p.pid), name: p.command, action: ok ? 'removed' : 'failed', reason: ok ? reason : `${reason}; still running after SIGKILL` });
    return ok;
  }));
  for (const path of paths) {
    const name = basename(path);
    const record = { ...base, kind: kindOf(name), id: path, name };
    if (options.dryRun) actions.push({ ...record, action: 'removed', reason });
    else if (!stopped.every(Boolean)) actions.push({ ...record, action: 'kept', reason: `${reason}, but a process of the run still runs` });
    else {
      try {
        await rm(path, { recursive: true, force: true, maxRetries: 3 });
        actions.push({ ...record, action: 'removed', reason });
      } catch (err) {
        actions.push({ ...record, action: 'failed', reason: `${reason}; ${(err as Error).message}` });
      }
    }
  }
  return actions;
}

/** Paths of `restoreproof-<run id>-*` in `roots`, by run. */
async function runsIn(roots: string[]): Promise<Map<string, string[]>> {
  const byRun = new Map<string, string[]>();
  for (const root of roots) {
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const run = runDir.exec(name)?.[1];
      if (run) byRun.set(run, [...(byRun.get(run) ?? []), join(root, name)]);
    }
  }
  return byRun;
}

/**
 * Leftovers of local runs whose harness died before its teardown (or `--keep` runs): the temp
 * dirs named after the run id, and the processes of the run. A run goes once it may (gcDecision:
 * expired by the expiry its owner file recorded, or older than --older-than, and never while its
 * harness runs); anything not named `restoreproof-<run id>-…` is left alone.
 */
export async function collectLocalLeftovers(options: GcOptions & { dir?: string; graceMs?: number } = {}): Promise<LocalGcAction[]> {
  const roots = options.dir ? [options.dir] : await localRunRoots();
  const actions: LocalGcAction[] = [];
  for (const [run, paths] of [...(await runsIn(roots))].sort(([a], [b]) => a.localeCompare(b))) {
    const owner = await readOwnerFile(run, paths);
    const base = { run, expiresAt: owner.expiresAt };
    const decision = gcDecision({ runId: run, expiresAt: owner.expiresAt, startedAt: runStartedAt(run), harness: owner.harness }, options);
    if (decision.remove) {
      actions.push(...(await sweepRun(run, paths, base, { roots, reason: decision.reason, ...(options.dryRun ? { dryRun: true } : {}), ...(options.graceMs ? { graceMs: options.graceMs } : {}) })));
      continue;
    }
    for (const path of paths) actions.push({ ...base, kind: kindOf(basename(path)), id: path, name: basename(path), action: 'kept', reason: decision.reason });
    for (const p of await processesOf(run, roots)) actions.push({ ...base, kind: 'process', id: String(p.pid), name: p.command, action: 'kept', reason: decision.reason });
  }
  return actions;
}

/** Everything of one run, now (the reaper, once the run's harness died, with the harness's temp dir); returns how many it found and what could not be removed. */
export async function removeLocalRun(runId: string, dir = tmpdir()): Promise<{ found: number; left: string[] }> {
  const roots = [...new Set([dir, ...(await localRunRoots())])];
  const paths = (await runsIn(roots)).get(runId) ?? [];
  const actions = await sweepRun(runId, paths, { run: runId, expiresAt: '' }, { roots, reason: 'its harness died', graceMs: 5_000 });
  return { found: actions.length, left: actions.filter((a) => a.action !== 'removed').map((a) => `${a.kind} ${a.name}: ${a.reason}`) };
}
