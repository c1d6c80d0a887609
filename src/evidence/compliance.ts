import type { KeyObject } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ExitCode, RestoreproofError } from '../errors.ts';
import type { DrillView, HistoryView, ReviewView } from '../report/compliance-html.ts';
import type { RunReport } from '../report/types.ts';
import { parseDuration } from '../util/duration.ts';
import { keyIdOf, verifyEnvelope, type DsseEnvelope } from './dsse.ts';
import { readHistory, reviewName, verifyChain, type HistoryRecord } from './history.ts';
import { decodeReview } from './review.ts';
import { drillHistoryDirs, signaturesOf } from './verify.ts';

/** Everything `restoreproof report` shows, read from a history root (or one drill's history dir). */
export async function buildHistoryView(root: string, options: { since: string; keys: readonly KeyObject[]; now?: Date }): Promise<HistoryView> {
  const sinceMs = parseDuration(options.since);
  if (!/^(\d+(ms|s|m|h|d))+$/.test(options.since) || sinceMs <= 0) throw new RestoreproofError('E_USAGE', `--since must be a duration such as 90d, 12h or 30m (got "${options.since}")`, { exitCode: ExitCode.usage });
  const now = options.now ?? new Date();
  const from = new Date(now.getTime() - sinceMs);
  let dirs: string[];
  try {
    dirs = await drillHistoryDirs(resolve(root));
  } catch (err) {
    throw new RestoreproofError('E_USAGE', `cannot read the history ${root} (${(err as NodeJS.ErrnoException).code ?? err})`, { exitCode: ExitCode.usage, hint: 'runs append to <report dir>/history/<drill>/; pass --history <dir>' });
  }
  const drills: DrillView[] = [];
  for (const dir of dirs) {
    const records = await readHistory(dir);
    const runs = records
      .filter((r): r is HistoryRecord & { report: RunReport } => Boolean(r.report) && Date.parse(r.report!.startedAt) >= from.getTime())
      .map((r) => r.report)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    const signatures = await signaturesOf(dir, records, options.keys);
    drills.push({
      name: runs.at(-1)?.drill.name ?? records.findLast((r) => r.report)?.report?.drill.name ?? basename(dir),
      dir,
      runs,
      reviews: await reviewsIn(dir, records, options.keys),
      chainProblems: verifyChain(records).map((p) => p.message),
      chainLength: records.length,
      signatures: { verified: signatures.verified, failed: signatures.failed, unsigned: signatures.unsigned, checked: options.keys.length > 0 },
    });
  }
  return { generatedAt: now.toISOString(), since: from.toISOString(), sinceLabel: `last ${options.since}`, source: resolve(root), drills };
}

async function reviewsIn(dir: string, records: readonly HistoryRecord[], keys: readonly KeyObject[]): Promise<Record<string, ReviewView[]>> {
  const out: Record<string, ReviewView[]> = {};
  const byRun = new Map(records.map((r) => [r.runId, r]));
  for (const name of (await readdir(dir)).filter((f) => reviewName.test(f)).sort()) {
    const runId = reviewName.exec(name)![1]!;
    let envelope: DsseEnvelope;
    try {
      envelope = JSON.parse(await readFile(join(dir, name), 'utf8')) as DsseEnvelope;
    } catch {
      continue;
    }
    const statement = decodeReview(envelope);
    if (!statement) continue;
    const p = statement.predicate;
    const record = byRun.get(runId);
    const bound = record !== undefined && statement.subject[0]?.digest?.sha256 === record.sha256;
    const usable = keys.filter((k) => envelope.signatures?.some((s) => s.keyid === keyIdOf(k)));
    const verified = !bound ? false : usable.length ? verifyEnvelope(envelope, usable).ok : null;
    (out[runId] ??= []).push({ reviewer: p.reviewer, reviewedAt: p.reviewedAt, correctiveActions: p.correctiveActions ?? [], ...(p.ticket ? { ticket: p.ticket } : {}), verified });
  }
  return out;
}
