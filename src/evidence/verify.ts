import type { KeyObject } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RunReport } from '../report/types.ts';
import { sha256 } from '../util/hash.ts';
import { keyIdOf, readPublicKey, verifyEnvelope, type DsseEnvelope } from './dsse.ts';
import { readHistory, recordName, reviewName, verifyChain, type HistoryRecord } from './history.ts';
import { decodeReview } from './review.ts';
import { reportSchemaProblems } from './schema.ts';
import { statementType, testResultPredicateType, type Statement, type TestResultPredicate } from './statement.ts';

export interface VerifyLine {
  check: 'input' | 'schema' | 'signature' | 'statement' | 'digests' | 'chain' | 'reviews';
  /** null: not checked (nothing to check, or nothing to check it with). */
  ok: boolean | null;
  message: string;
}

export interface VerifyResult {
  target: string;
  ok: boolean;
  lines: VerifyLine[];
}

export interface VerifyOptions {
  keys: KeyObject[];
  /** A history root (with `<drill>/` inside) or one drill's history dir. */
  history?: string;
}

const short = (hex: string) => `${hex.slice(0, 12)}…`;
/** A subject's digest as the statement gives it, or that it gives none. */
const signedDigest = (subject: { digest?: { sha256?: string } }) => (subject.digest?.sha256 ? short(subject.digest.sha256) : 'no sha256');

function result(target: string, lines: VerifyLine[]): VerifyResult {
  return { target, ok: lines.every((l) => l.ok !== false), lines };
}

async function readJson(file: string): Promise<{ bytes?: Buffer; value?: unknown; error?: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { error: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})` };
  }
  try {
    return { bytes, value: JSON.parse(bytes.toString('utf8')) };
  } catch (err) {
    return { bytes, error: `${basename(file)} is not valid JSON (${(err as Error).message}): edited or damaged` };
  }
}

const isEnvelope = (v: unknown): v is DsseEnvelope => typeof v === 'object' && v !== null && 'payloadType' in v && 'payload' in v;

function decodeStatement(envelope: DsseEnvelope): Statement<TestResultPredicate> | undefined {
  try {
    return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Statement<TestResultPredicate>;
  } catch {
    return undefined;
  }
}

export interface VerifyEvidenceOptions {
  /** Public key files (PEM, as `restoreproof keygen` writes `<key>.pub`); without keys the signature is not checked. */
  keyFiles?: string[];
  keys?: KeyObject[];
  history?: string;
}

/** The library's `restoreproof verify <report>`: verifyRun with the keys read from their files. */
export async function verifyEvidence(target: string, options: VerifyEvidenceOptions = {}): Promise<VerifyResult> {
  const keys = [...(options.keys ?? []), ...(await Promise.all((options.keyFiles ?? []).map((f) => readPublicKey(f))))];
  return verifyRun(target, { keys, ...(options.history ? { history: options.history } : {}) });
}

/** Verifies one run's evidence: a report (`<run-id>.json`) or its envelope (`<run-id>.dsse.json`). */
export async function verifyRun(target: string, options: VerifyOptions): Promise<VerifyResult> {
  const lines: VerifyLine[] = [];
  const first = await readJson(target);
  let reportFile = target;
  let envelopeFile: string | undefined;
  let envelope: DsseEnvelope | undefined;
  if (isEnvelope(first.value)) {
    envelopeFile = target;
    envelope = first.value;
    const named = decodeStatement(envelope)?.subject?.find((s) => s.name && recordName.test(s.name));
    if (!named?.name) return result(target, [{ check: 'input', ok: false, message: `${basename(target)}: the envelope names no report (<run-id>.json) among its subjects` }]);
    reportFile = join(dirname(target), named.name);
  }
  const reportRead = reportFile === target ? first : await readJson(reportFile);
  const report = reportRead.value as RunReport | undefined;
  const runId = recordName.exec(basename(reportFile))?.[1] ?? (report && typeof report.runId === 'string' ? report.runId : undefined);

  // schema
  if (!reportRead.bytes || reportRead.error || !report) {
    lines.push({ check: 'schema', ok: false, message: reportRead.error ?? `${basename(reportFile)} cannot be read` });
  } else {
    const problems = reportSchemaProblems(report);
    lines.push(problems.length
      ? { check: 'schema', ok: false, message: `${basename(reportFile)} does not match schemas/report.schema.json: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}` }
      : { check: 'schema', ok: true, message: `${basename(reportFile)} matches schemas/report.schema.json (schema ${report.schemaVersion})` });
    if (runId && report.runId !== runId) lines.push({ check: 'schema', ok: false, message: `${basename(reportFile)} holds run ${String(report.runId)}: file renamed or swapped` });
  }

  // signature and statement
  if (!envelope && runId) {
    envelopeFile = join(dirname(reportFile), `${runId}.dsse.json`);
    if (existsSync(envelopeFile)) {
      const e = await readJson(envelopeFile);
      if (isEnvelope(e.value)) envelope = e.value;
      else lines.push({ check: 'signature', ok: false, message: e.error ?? `${basename(envelopeFile)} is not a DSSE envelope` });
    } else {
      lines.push({ check: 'signature', ok: false, message: `no envelope ${basename(envelopeFile)} beside the report: this run was not signed (spec.report.sign or RESTOREPROOF_SIGNING_KEY_FILE)` });
    }
  }
  if (envelope && envelopeFile) {
    const checked = verifyEnvelope(envelope, options.keys);
    lines.push(checked.ok
      ? { check: 'signature', ok: true, message: `${basename(envelopeFile)}: valid Ed25519 signature by key ${short(checked.keyId)}` }
      : { check: 'signature', ok: false, message: `${basename(envelopeFile)}: ${checked.reason}` });
    lines.push(...(await checkStatement(envelope, dirname(envelopeFile), reportFile, reportRead.bytes, report)));
  }

  // chain
  if (report && runId && typeof report.drill?.name === 'string') lines.push(...(await checkChainOf(reportFile, runId, reportRead.bytes!, report, options)));

  // reviews
  if (runId && reportRead.bytes) lines.push(...(await checkReviews(dirname(reportFile), runId, sha256(reportRead.bytes), options.keys)));
  return result(target, lines);
}

async function checkStatement(envelope: DsseEnvelope, dir: string, reportFile: string, reportBytes: Buffer | undefined, report: RunReport | undefined): Promise<VerifyLine[]> {
  const lines: VerifyLine[] = [];
  const statement = decodeStatement(envelope);
  if (envelope.payloadType !== 'application/vnd.in-toto+json' || !statement || statement._type !== statementType || !Array.isArray(statement.subject)) {
    return [{ check: 'statement', ok: false, message: 'the envelope does not hold an in-toto Statement v1 (application/vnd.in-toto+json)' }];
  }
  if (statement.predicateType !== testResultPredicateType) lines.push({ check: 'statement', ok: false, message: `unexpected predicateType ${statement.predicateType}` });
  const problems: string[] = [];
  let matched = 0;
  const absent: string[] = [];
  const files = statement.subject.filter((s) => s.name && !s.name.includes('/') && (s.annotations as { kind?: string } | undefined)?.kind !== 'backup-artefact');
  for (const s of files) {
    const file = join(dir, s.name!);
    const signed = s.digest?.sha256;
    let bytes: Buffer | undefined;
    if (resolve(file) === resolve(reportFile)) bytes = reportBytes;
    else if (existsSync(file)) bytes = await readFile(file);
    if (!bytes) {
      absent.push(s.name!);
      continue;
    }
    const actual = sha256(bytes);
    if (actual === signed) matched++;
    else problems.push(`${s.name}: sha256 ${short(actual)}, but the signed statement says ${signedDigest(s)}: edited after signing`);
  }
  if (!files.some((s) => resolve(join(dir, s.name!)) === resolve(reportFile))) problems.push(`the signed statement does not cover ${basename(reportFile)}`);
  if (report && Array.isArray(report.artefacts)) {
    const signedArtefacts = new Set(statement.subject.filter((s) => (s.annotations as { kind?: string } | undefined)?.kind === 'backup-artefact').map((s) => `${s.name}\0${s.digest?.sha256}`));
    const reported = new Set(report.artefacts.map((a) => `${a.path}\0${a.sha256}`));
    const differ = [...reported].filter((a) => !signedArtefacts.has(a)).concat([...signedArtefacts].filter((a) => !reported.has(a)));
    if (differ.length) problems.push(`artefact digests in the report differ from the signed ones: ${differ.map((d) => d.split('\0')[0]).join(', ')}`);
    const verdict = report.result?.status ?? report.status;
    const signedResult = statement.predicate?.result;
    if (signedResult && signedResult.toLowerCase() !== verdict) problems.push(`the report says ${verdict}, the signed statement ${signedResult}`);
  }
  if (problems.length) for (const p of problems) lines.push({ check: 'digests', ok: false, message: p });
  else lines.push({ check: 'digests', ok: true, message: `${matched} report file(s) match the signed statement${absent.length ? ` (not present here, not checked: ${absent.join(', ')})` : ''}; ${report?.artefacts?.length ?? 0} artefact digest(s) agree` });
  return lines;
}

function drillDirIn(history: string, drill: string): string {
  const sub = join(history, drill);
  return existsSync(sub) && statSync(sub).isDirectory() ? sub : history;
}

async function checkChainOf(reportFile: string, runId: string, bytes: Buffer, report: RunReport, options: VerifyOptions): Promise<VerifyLine[]> {
  let dir: string | undefined;
  if (options.history) dir = drillDirIn(resolve(options.history), report.drill.name);
  else if (basename(dirname(reportFile)) === report.drill.name && basename(dirname(dirname(reportFile))) === 'history') dir = dirname(reportFile);
  else if (existsSync(join(dirname(reportFile), 'history', report.drill.name))) dir = join(dirname(reportFile), 'history', report.drill.name);
  if (!dir) return [{ check: 'chain', ok: null, message: `not checked: no history for drill ${report.drill.name} beside the report (pass --history <dir>)` }];
  if (!existsSync(dir)) return [{ check: 'chain', ok: false, message: `history ${dir} does not exist` }];
  const records = await readHistory(dir);
  const lines: VerifyLine[] = verifyChain(records).map((p) => ({ check: 'chain', ok: false, message: p.message }));
  const own = records.find((r) => r.runId === runId);
  if (!own) lines.push({ check: 'chain', ok: false, message: `run ${runId} is not in the history ${dir}: deleted from it, or never appended` });
  else if (!own.bytes.equals(bytes)) lines.push({ check: 'chain', ok: false, message: `run ${runId}: the report differs from its copy in the history ${dir} (sha256 ${short(sha256(bytes))} vs ${short(own.sha256)}): one of them was edited` });
  if (lines.length === 0) lines.push({ check: 'chain', ok: true, message: `history ${dir}: ${records.length} run(s), chain intact; this run is #${report.sequence ?? '?'}${report.previous ? `, after ${report.previous.runId}` : ', the first'}` });
  return lines;
}

async function checkReviews(dir: string, runId: string, reportSha: string, keys: readonly KeyObject[]): Promise<VerifyLine[]> {
  const names = (await readdir(dir)).filter((f) => reviewName.exec(f)?.[1] === runId).sort();
  const lines: VerifyLine[] = [];
  for (const name of names) {
    const read = await readJson(join(dir, name));
    const envelope = isEnvelope(read.value) ? read.value : undefined;
    const statement = envelope ? decodeReview(envelope) : undefined;
    if (!envelope || !statement) {
      lines.push({ check: 'reviews', ok: false, message: `${name}: not a review envelope${read.error ? ` (${read.error})` : ''}` });
      continue;
    }
    const p = statement.predicate;
    const who = `${p.reviewer} at ${p.reviewedAt}${p.ticket ? `, ticket ${p.ticket}` : ''}`;
    if (statement.subject[0]?.digest?.sha256 !== reportSha) {
      lines.push({ check: 'reviews', ok: false, message: `${name} (${who}) signs a different version of the report: the report was edited after the review` });
      continue;
    }
    const ids = envelope.signatures.map((s) => s.keyid);
    const usable = keys.filter((k) => ids.includes(keyIdOf(k)));
    if (usable.length === 0) {
      lines.push({ check: 'reviews', ok: null, message: `${name} (${who}): signed by key ${ids.map(short).join(', ')}, not checked (pass that public key with --key)` });
      continue;
    }
    const checked = verifyEnvelope(envelope, usable);
    lines.push(checked.ok ? { check: 'reviews', ok: true, message: `${name}: sign-off by ${who}, signature valid` } : { check: 'reviews', ok: false, message: `${name}: ${checked.reason}` });
  }
  return lines;
}

/** The drill history dirs under `root`: root itself when it holds runs, else each sub-directory that does. */
export async function drillHistoryDirs(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && recordName.test(e.name))) return [root];
  const dirs: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const names = await readdir(join(root, e.name));
    if (names.some((n) => recordName.test(n))) dirs.push(join(root, e.name));
  }
  return dirs.sort();
}

/** Verifies one drill's whole history: schema of every record, the chain, and the signatures when keys are given. */
export async function verifyHistoryDir(dir: string, keys: readonly KeyObject[]): Promise<VerifyResult & { records: HistoryRecord[] }> {
  const records = await readHistory(dir);
  const lines: VerifyLine[] = [];
  for (const r of records) {
    if (!r.report) continue; // reported by the chain check
    const problems = reportSchemaProblems(r.report);
    if (problems.length) lines.push({ check: 'schema', ok: false, message: `run ${r.runId}: does not match the report schema (${problems.slice(0, 3).join('; ')})` });
  }
  if (!lines.length) lines.push({ check: 'schema', ok: true, message: `${records.length} report(s) match schemas/report.schema.json` });
  const chain = verifyChain(records);
  lines.push(...(chain.length ? chain.map((p) => ({ check: 'chain' as const, ok: false, message: p.message })) : [{ check: 'chain' as const, ok: true, message: `${records.length} run(s), chain intact${records.length ? ` from ${records[0]!.runId} to ${records.at(-1)!.runId}` : ''}` }]));
  lines.push(...(await signaturesOf(dir, records, keys)).lines);
  return { ...result(dir, lines), records };
}

/** Signature status of every record of a history dir (its `<run-id>.dsse.json` copies). */
export async function signaturesOf(dir: string, records: readonly HistoryRecord[], keys: readonly KeyObject[]): Promise<{ lines: VerifyLine[]; verified: number; failed: string[]; unsigned: number }> {
  if (keys.length === 0) return { lines: [{ check: 'signature', ok: null, message: 'signatures not checked (pass --key <file.pub>)' }], verified: 0, failed: [], unsigned: 0 };
  let verified = 0;
  let unsigned = 0;
  const failed: string[] = [];
  for (const r of records) {
    const file = join(dir, `${r.runId}.dsse.json`);
    if (!existsSync(file)) {
      unsigned++;
      failed.push(`run ${r.runId} is not signed (no ${basename(file)})`);
      continue;
    }
    const read = await readJson(file);
    if (!isEnvelope(read.value)) {
      failed.push(`run ${r.runId}: ${read.error ?? `${basename(file)} is not a DSSE envelope`}`);
      continue;
    }
    const checked = verifyEnvelope(read.value, keys);
    if (!checked.ok) {
      failed.push(`run ${r.runId}: ${checked.reason}`);
      continue;
    }
    const subjects = decodeStatement(read.value)?.subject ?? [];
    const subject = subjects.find((s) => s.name === `${r.runId}.json`);
    if (!subject) {
      // Its signature file signs another run: both files of two runs were swapped or renamed.
      const signedReport = subjects.find((s) => s.name && recordName.test(s.name));
      failed.push(`run ${r.runId}: ${basename(file)} signs ${signedReport ? `${signedReport.name} (sha256 ${signedDigest(signedReport)})` : 'no report'}, not ${r.runId}.json: runs were swapped or renamed`);
    } else if (subject.digest?.sha256 !== r.sha256) failed.push(`run ${r.runId} was edited after signing: its sha256 is ${short(r.sha256)}, the signed statement says ${signedDigest(subject)}`);
    else verified++;
  }
  const lines: VerifyLine[] = failed.map((message) => ({ check: 'signature', ok: false, message }));
  if (!failed.length) lines.push({ check: 'signature', ok: true, message: `${verified} signed run(s) verified` });
  return { lines, verified, failed, unsigned };
}
