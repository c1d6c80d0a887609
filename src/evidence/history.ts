import { link, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { RunReport } from '../report/types.ts';
import { sha256 } from '../util/hash.ts';

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

/** The newest record: what the next run chains to. Reads one file, however long the history. */
export async function chainHead(dir: string): Promise<{ runId: string; sha256: string; sequence: number } | null> {
  const files = await recordFiles(dir);
  const last = files.at(-1);
  if (!last) return null;
  const record = await readRecord(dir, last);
  const sequence = typeof record.report?.sequence === 'number' ? record.report.sequence : files.length;
  return { runId: record.report?.runId ?? record.runId, sha256: record.sha256, sequence };
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
  // Chain order is the runs' own order (run ids sort by start time), whatever the file names say.
  usable.sort((a, b) => (a.report.runId < b.report.runId ? -1 : a.report.runId > b.report.runId ? 1 : 0));
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
