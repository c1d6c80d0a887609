import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ParsedArgs } from '../cli-command.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { renderHistoryCompliance } from '../report/compliance-html.ts';
import { redact } from '../util/redact.ts';
import { buildHistoryView } from './compliance.ts';
import { generateSigningKey, readPublicKey } from './dsse.ts';
import { reviewRun } from './review.ts';
import { drillHistoryDirs, verifyHistoryDir, verifyRun, type VerifyResult } from './verify.ts';

/** The CLI verbs of the evidence module; src/cli.ts declares and parses their flags. */
type Parsed<V> = ParsedArgs<V>;

export async function keygenCommand({ positionals, values }: Parsed<{ out?: string; force?: boolean }>): Promise<number> {
  const out = values.out ?? positionals[0];
  if (!out || positionals.length > (values.out ? 0 : 1)) throw new UsageError('keygen needs --out <path>');
  const { keyId, publicKeyFile } = await generateSigningKey(out, { force: Boolean(values.force) });
  process.stderr.write(`private key ${out} (mode 0600; keep it secret), public key ${publicKeyFile}\nkey id ${keyId}\n`);
  return ExitCode.passed;
}

/** --key files, else the public half of RESTOREPROOF_SIGNING_KEY_FILE. */
async function verificationKeys(files: string[] | undefined): Promise<KeyObject[]> {
  if (files?.length) return Promise.all(files.map((f) => readPublicKey(f)));
  const fromEnv = process.env.RESTOREPROOF_SIGNING_KEY_FILE;
  return fromEnv ? [await readPublicKey(fromEnv)] : [];
}

function print(result: VerifyResult): void {
  process.stdout.write(`verify ${result.target}\n`);
  for (const line of result.lines) process.stdout.write(`  ${line.ok === true ? 'ok  ' : line.ok === false ? 'FAIL' : '-   '}  ${line.check.padEnd(9)} ${redact(line.message)}\n`);
  const failed = result.lines.filter((l) => l.ok === false);
  process.stdout.write(failed.length ? `NOT VERIFIED: ${failed.length} problem(s): ${[...new Set(failed.map((l) => l.check))].join(', ')}\n` : 'VERIFIED\n');
}

export async function verifyCommand({ positionals, values }: Parsed<{ key?: string[]; history?: string; json?: boolean }>): Promise<number> {
  if (positionals.length > 1) throw new UsageError('verify takes one report or envelope');
  if (positionals.length === 0 && !values.history && !process.env.RESTOREPROOF_HISTORY) throw new UsageError('verify needs a report (<run-id>.json), an envelope (<run-id>.dsse.json) or --history <dir>');
  const keys = await verificationKeys(values.key);
  const history = values.history || process.env.RESTOREPROOF_HISTORY || undefined;
  const results: VerifyResult[] = [];
  if (positionals[0]) {
    if (!existsSync(positionals[0])) throw new UsageError(`${positionals[0]} does not exist`);
    results.push(await verifyRun(positionals[0], { keys, ...(history ? { history } : {}) }));
  } else {
    let dirs: string[];
    try {
      dirs = await drillHistoryDirs(resolve(history!));
    } catch (err) {
      throw new UsageError(`cannot read the history ${history} (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    if (dirs.length === 0) throw new UsageError(`${history} holds no run history (<drill>/<run-id>.json)`);
    for (const dir of dirs) results.push(await verifyHistoryDir(dir, keys));
  }
  if (values.json) process.stdout.write(`${JSON.stringify(results.map(({ target, ok, lines }) => ({ target, ok, lines })), null, 2)}\n`);
  else results.forEach(print);
  return results.every((r) => r.ok) ? ExitCode.passed : ExitCode.failed;
}

export async function reviewCommand({ positionals, values }: Parsed<{ reviewer?: string; key?: string; 'corrective-action'?: string[]; ticket?: string; comment?: string; history?: string }>): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('review needs exactly one report (<run-id>.json)');
  if (!values.reviewer?.trim()) throw new UsageError('--reviewer <name> is required');
  if (!values.key) throw new UsageError('--key <private key> is required: reviews are signed');
  const { files, keyId, predicate } = await reviewRun(positionals[0]!, {
    reviewer: values.reviewer.trim(),
    keyFile: values.key,
    ...(values['corrective-action'] ? { correctiveActions: values['corrective-action'] } : {}),
    ...(values.ticket ? { ticket: values.ticket } : {}),
    ...(values.comment ? { comment: values.comment } : {}),
    ...(values.history || process.env.RESTOREPROOF_HISTORY ? { history: values.history || process.env.RESTOREPROOF_HISTORY } : {}),
  });
  process.stderr.write(`review of run ${predicate.runId} (${predicate.result}) by ${predicate.reviewer}, signed with key ${keyId.slice(0, 16)}…\n`);
  for (const f of files) process.stdout.write(`${f}\n`);
  return ExitCode.passed;
}

export async function reportCommand({ positionals, values }: Parsed<{ since?: string; history?: string; key?: string[]; out?: string }>): Promise<number> {
  if (positionals.length) throw new UsageError(`report takes no positional argument (got ${positionals.join(' ')}); use --history <dir>`);
  if (!values.out) throw new UsageError('-o <file.html> is required');
  const keys = await verificationKeys(values.key);
  const view = await buildHistoryView(values.history || process.env.RESTOREPROOF_HISTORY || 'reports/history', { since: values.since ?? '90d', keys });
  await mkdir(dirname(resolve(values.out)), { recursive: true });
  await writeFile(values.out, renderHistoryCompliance(view));
  const runs = view.drills.reduce((n, d) => n + d.runs.length, 0);
  process.stderr.write(`compliance report over ${view.drills.length} drill(s), ${runs} run(s) since ${view.since}: ${values.out}\n`);
  return ExitCode.passed;
}
