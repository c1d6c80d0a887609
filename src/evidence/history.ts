import { link, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { RunReport } from '../report/types.ts';
import { sha256 } from '../util/hash.ts';
import { acquireLock, type HeldLock } from '../util/lockfile.ts';

/**
 * The history of a drill: a directory holding a copy of every run's JSON evidence as
 * `<run-id>.json` (with its envelope and review records beside it). Each report names the
 * previous one by run id and sha256 (`previous`) and carries its position (`sequence`), so a
 * run deleted, reordered or edited afterwards breaks the chain where it happened.
 */
export const recordName = /^(\d{8}T\d{6}Z-[0-9a-f]{6})\.json$/;
export const reviewName = /^(\d{8}T\d{6}Z-[0-9a-f]{6})\.review-(\d+)\.dsse\.json$/;

export interface HistoryRecord {
  file: string;
  /** From the file name. */
  runId: string;
  bytes: Buffer;
  sha256: string;
  report?: RunReport;
  parseError?: string;
}

/** `<root>/<drill-name>`; the default root is `<report dir>/history`. */
export function drillHistoryDir(root: string, drillName: string): string {
  return join(resolve(root), drillName);
}

async function recordFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => recordName.test(f)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function readRecord(dir: string, name: string): Promise<HistoryRecord> {
  const file = join(dir, name);
  const bytes = await readFile(file);
  const record: HistoryRecord = { file, runId: recordName.exec(name)![1]!, bytes, sha256: sha256(bytes) };
  try {
    record.report = JSON.parse(bytes.toString('utf8')) as RunReport;
  } catch (err) {
    record.parseError = (err as Error).message;
  }
  return record;
}

/** Every record, oldest first (run ids sort by start time). */
export async function readHistory(dir: string): Promise<HistoryRecord[]> {
  const out: HistoryRecord[] = [];
  for (const name of await recordFiles(dir)) out.push(await readRecord(dir, name));
  return out;
}

export interface ChainHead {
  runId: string;
  sha256: string;
  sequence: number;
}

/** Names the newest record, so the next run reads one file however long the history; verify never trusts it. */
const headFile = '.head.json';

/**
 * The newest record: what the next run chains to. Appends are locked (`lockHistory`), so the
 * newest is the one with the highest sequence, which need not be the newest run id (a run that
 * started earlier can finish later). `.head.json` names it; without it (a history from before it
 * existed, or damaged), every record is read.
 */
export async function chainHead(dir: string): Promise<ChainHead | null> {
  const files = await recordFiles(dir);
  if (files.length === 0) return null;
  try {
    const named = JSON.parse(await readFile(join(dir, headFile), 'utf8')) as Partial<ChainHead>;
    const name = `${named.runId}.json`;
    if (files.includes(name) && typeof named.sequence === 'number') {
      const record = await readRecord(dir, name);
      if (record.sha256 === named.sha256 && record.report?.sequence === named.sequence) return { runId: record.runId, sha256: record.sha256, sequence: named.sequence };
    }
  } catch {
    // no head file, or not ours: read the records
  }
  let head: ChainHead | null = null;
  for (const [index, name] of files.entries()) {
    const record = await readRecord(dir, name);
    const sequence = typeof record.report?.sequence === 'number' ? record.report.sequence : index + 1;
    if (!head || sequence >= head.sequence) head = { runId: record.report?.runId ?? record.runId, sha256: record.sha256, sequence };
  }
  return head;
}

/** Records the run just appended as the head (written aside, then renamed over the old one). */
export async function setChainHead(dir: string, head: ChainHead): Promise<void> {
  const tmp = join(dir, `${headFile}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(head)}\n`);
  await rename(tmp, join(dir, headFile));
}

/**
 * Held from reading the head to appending the run: two runs of one drill finishing at once
 * would otherwise both chain to the same record (a fork). Works across processes and hosts
 * sharing the directory; a lock left by a harness that died is broken by the next run.
 */
export async function lockHistory(dir: string): Promise<HeldLock> {
  await mkdir(dir, { recursive: true });
  return acquireLock(join(dir, '.lock'), { what: `the history ${dir}` });
}

/** Adds a file to the history, atomically; never replaces one (EEXIST). */
export async function appendToHistory(dir: string, name: string, bytes: Uint8Array | string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  await writeFile(tmp, bytes);
  try {
    await link(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  return target;
}

export interface ChainProblem {
  runId: string;
  message: string;
}

const short = (hex: string) => `${hex.slice(0, 12)}…`;

/** Checks that the records form one unbroken chain; each problem names the run and the cause. */
export function verifyChain(records: readonly HistoryRecord[]): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const usable: (HistoryRecord & { report: RunReport })[] = [];
  for (const r of records) {
    if (!r.report) {
      problems.push({ runId: r.runId, message: `run ${r.runId}: ${basename(r.file)} is not valid JSON (edited or damaged: ${r.parseError})` });
      continue;
    }
    if (r.report.runId !== r.runId) {
      problems.push({ runId: r.runId, message: `run ${r.runId}: ${basename(r.file)} holds run ${r.report.runId}: runs were swapped or renamed (history reordered)` });
    }
    usable.push(r as HistoryRecord & { report: RunReport });
  }
  // Chain order is the order the runs were appended in (their sequence; a record without one
  // takes its place among the run ids, which sort by start time), whatever the file names say.
  const byRunId = (a: { report: RunReport }, b: { report: RunReport }) => (a.report.runId < b.report.runId ? -1 : a.report.runId > b.report.runId ? 1 : 0);
  const position = new Map([...usable].sort(byRunId).map((r, i) => [r, typeof r.report.sequence === 'number' ? r.report.sequence : i + 1]));
  usable.sort((a, b) => position.get(a)! - position.get(b)! || byRunId(a, b));
  const ids = new Set(usable.map((r) => r.report.runId));
  const seen = new Map<number, string>();
  for (const [i, r] of usable.entries()) {
    const { runId, previous, sequence } = r.report;
    if (typeof sequence === 'number') {
      const other = seen.get(sequence);
      if (other) problems.push({ runId, message: `runs ${other} and ${runId} both claim sequence ${sequence}: the history forked (two runs appended at once, or a run was copied in)` });
      seen.set(sequence, runId);
    }
    const before = usable[i - 1];
    if (!before) {
      if (previous && !ids.has(previous.runId)) {
        problems.push({ runId: previous.runId, message: `run ${previous.runId} (sequence ${(sequence ?? 2) - 1}) is missing: deleted from the history (run ${runId} chains to it)` });
      } else if (previous === undefined || (sequence !== undefined && sequence !== 1 && previous === null)) {
        problems.push({ runId, message: `run ${runId} carries no link to a previous run but has sequence ${sequence ?? '?'}: the history was reset` });
      }
      continue;
    }
    if (!previous) {
      problems.push({ runId, message: `run ${runId} starts a new chain after run ${before.report.runId}: the history was reset or reordered` });
    } else if (previous.runId !== before.report.runId) {
      if (ids.has(previous.runId)) {
        problems.push({ runId, message: `runs out of order: run ${runId} chains to ${previous.runId}, but ${before.report.runId} comes right before it (history reordered)` });
      } else {
        problems.push({ runId: previous.runId, message: `run ${previous.runId} (sequence ${(sequence ?? 0) - 1}) is missing: deleted from the history (run ${runId} chains to it, after ${before.report.runId})` });
      }
    } else if (previous.sha256 !== before.sha256) {
      problems.push({ runId: before.report.runId, message: `run ${before.report.runId} was edited: its file's sha256 is ${short(before.sha256)}, but run ${runId} recorded ${short(previous.sha256)}` });
    } else if (typeof sequence === 'number' && typeof before.report.sequence === 'number' && sequence !== before.report.sequence + 1) {
      problems.push({ runId, message: `run ${runId} has sequence ${sequence} after ${before.report.runId} (sequence ${before.report.sequence}): edited` });
    }
  }
  return problems;
}
