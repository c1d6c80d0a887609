import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { RestoreproofError, ExitCode } from '../errors.ts';
import type { RunReport } from '../report/types.ts';
import { sha256 } from '../util/hash.ts';
import { inTotoPayloadType, keyIdOf, readPrivateKey, signEnvelope, type DsseEnvelope } from './dsse.ts';
import { recordName } from './history.ts';
import { reviewStatement, type ReviewPredicate, type Statement } from './statement.ts';

export interface ReviewInput {
  reviewer: string;
  correctiveActions?: string[];
  ticket?: string;
  comment?: string;
  keyFile: string;
  /** History root or drill history dir (default `<report dir>/history`); the review is recorded there too when the run is. */
  history?: string;
  now?: Date;
}

/**
 * Appends a signed sign-off for one run: `<run-id>.review-<n>.dsse.json` beside the report (and in
 * the drill's history). The report itself is never touched; the review binds to its sha256.
 */
export async function reviewRun(reportFile: string, input: ReviewInput): Promise<{ files: string[]; keyId: string; predicate: ReviewPredicate }> {
  if (!recordName.test(basename(reportFile))) throw new RestoreproofError('E_USAGE', `${reportFile} is not a run's JSON evidence (<run-id>.json)`, { exitCode: ExitCode.usage });
  let bytes: Buffer;
  try {
    bytes = await readFile(reportFile);
  } catch (err) {
    throw new RestoreproofError('E_USAGE', `cannot read ${reportFile} (${(err as NodeJS.ErrnoException).code})`, { exitCode: ExitCode.usage });
  }
  let report: RunReport;
  try {
    report = JSON.parse(bytes.toString('utf8')) as RunReport;
  } catch {
    throw new RestoreproofError('E_USAGE', `${reportFile} is not JSON`, { exitCode: ExitCode.usage });
  }
  const key = await readPrivateKey(input.keyFile);
  const predicate: ReviewPredicate = {
    runId: report.runId,
    drill: report.drill.name,
    result: report.result?.status ?? report.status,
    reviewer: input.reviewer,
    reviewedAt: (input.now ?? new Date()).toISOString(),
    correctiveActions: input.correctiveActions ?? [],
    ...(input.ticket ? { ticket: input.ticket } : {}),
    ...(input.comment ? { comment: input.comment } : {}),
  };
  const statement = reviewStatement({ name: basename(reportFile), sha256: sha256(bytes) }, predicate);
  const envelope = `${JSON.stringify(signEnvelope(inTotoPayloadType, Buffer.from(JSON.stringify(statement)), key), null, 2)}\n`;
  const dirs = [resolve(dirname(reportFile))];
  const root = resolve(input.history ?? join(dirname(reportFile), 'history'));
  for (const candidate of [join(root, report.drill.name), root]) {
    if (dirs.includes(candidate)) break;
    try {
      // Only where that very report is recorded.
      if ((await readFile(join(candidate, basename(reportFile)))).equals(bytes)) {
        dirs.push(candidate);
        break;
      }
    } catch {
      // not in that history
    }
  }
  const files: string[] = [];
  for (const dir of dirs) files.push(await writeNext(dir, report.runId, envelope));
  return { files, keyId: keyIdOf(key), predicate };
}

/** `<run-id>.review-<n>.dsse.json` with the first free n, created exclusively: an existing record is never replaced. */
async function writeNext(dir: string, runId: string, content: string): Promise<string> {
  for (let n = 1; ; n++) {
    const file = join(dir, `${runId}.review-${n}.dsse.json`);
    try {
      await writeFile(file, content, { flag: 'wx' });
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Decodes a review envelope without checking its signature. */
export function decodeReview(envelope: DsseEnvelope): Statement<ReviewPredicate> | undefined {
  try {
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Statement<ReviewPredicate>;
    return statement.predicate && typeof statement.predicate.reviewer === 'string' ? statement : undefined;
  } catch {
    return undefined;
  }
}
