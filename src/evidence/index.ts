import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RestoreproofError, errorMessage } from '../errors.ts';
import { sendNotifications } from '../notify/index.ts';
import { atomicWrite, reportFiles, reportersMap } from '../report/index.ts';
import type { ReportBuilder } from '../report/builder.ts';
import type { ReportError } from '../report/types.ts';
import type { Drill } from '../drill/types.ts';
import { sha256 } from '../util/hash.ts';
import { redact } from '../util/redact.ts';
import { inTotoPayloadType, keyIdOf, readPrivateKey, signEnvelope } from './dsse.ts';
import { enrichReport } from './enrich.ts';
import { appendToHistory, chainHead, drillHistoryDir, lockHistory, setChainHead } from './history.ts';
import type { HeldLock } from '../util/lockfile.ts';
import { runStatement } from './statement.ts';

export interface EvidenceOptions {
  /** The report dir. */
  dir: string;
  drill: Drill | undefined;
  /** Where RESTOREPROOF_SIGNING_KEY_FILE is read; defaults to process.env. */
  env?: Record<string, string | undefined>;
}

export interface EvidenceSession {
  /** After writeReports: compliance page, notifications, history append, signature. */
  finalize(): Promise<void>;
}

/**
 * The history root of a drill: RESTOREPROOF_HISTORY (e.g. a persistent volume in CI, where report
 * dirs come and go), else spec.report.history, else `<report dir>/history`.
 */
export function historyRootFor(drill: Drill | undefined, reportDir: string, env: Record<string, string | undefined> = process.env): string {
  return resolve(env.RESTOREPROOF_HISTORY || drill?.document.spec.report?.history || join(reportDir, 'history'));
}

/** Which private key signs this run, if any: spec.report.sign.keyFile (relative to the drill), else RESTOREPROOF_SIGNING_KEY_FILE. */
export function signingKeyFile(drill: Drill | undefined, env: Record<string, string | undefined>): string | undefined {
  const fromDrill = drill?.document.spec.report?.sign?.keyFile;
  if (fromDrill) return resolve(drill.dir, fromDrill);
  return env.RESTOREPROOF_SIGNING_KEY_FILE ? resolve(env.RESTOREPROOF_SIGNING_KEY_FILE) : undefined;
}

const toError = (err: unknown, code: string): ReportError =>
  err instanceof RestoreproofError ? { code: err.code, message: redact(err.message), ...(err.hint ? { hint: err.hint } : {}) } : { code, message: redact(errorMessage(err)) };

/**
 * Before the reports are written: adds the schema 1.1 evidence fields and the link to the
 * previous run, and loads the signing key so that a key that cannot be used fails the run
 * in its own evidence rather than after it.
 */
export async function prepareEvidence(builder: ReportBuilder, options: EvidenceOptions): Promise<EvidenceSession> {
  const env = options.env ?? process.env;
  const { drill, dir } = options;
  const { report } = builder;
  try {
    builder.evidence(await enrichReport(report, drill));
  } catch (err) {
    builder.errorRecord(toError(err, 'E_EVIDENCE'));
  }

  let historyDir: string | undefined = drillHistoryDir(historyRootFor(drill, dir, env), report.drill.name);
  let lock: HeldLock | undefined;
  try {
    lock = await lockHistory(historyDir);
    const head = await chainHead(historyDir);
    builder.evidence({ sequence: head ? head.sequence + 1 : 1, previous: head ? { runId: head.runId, sha256: head.sha256 } : null });
  } catch (err) {
    builder.evidence({ sequence: 1, previous: null });
    builder.errorRecord({ code: 'E_HISTORY', message: redact(`cannot read the history ${historyDir}: ${errorMessage(err)}`), hint: 'this run is not chained to the previous one' });
    historyDir = undefined;
    await lock?.release();
    lock = undefined;
  }

  let key: KeyObject | undefined;
  const keyFile = signingKeyFile(drill, env);
  if (keyFile) {
    try {
      key = await readPrivateKey(keyFile);
      builder.files({ envelope: `${report.runId}.dsse.json` });
    } catch (err) {
      builder.errorRecord(toError(err, 'E_SIGN'));
      // Signed evidence was asked for and cannot be produced: the run's evidence is incomplete.
      builder.failVerdict();
    }
  }
  builder.files(reportFiles(report.runId, ['compliance']));
  // The lock is held until this run is appended (or finalize gives up), so no other run chains to the same head.
  const release = async () => {
    await lock?.release().catch(() => {});
    lock = undefined;
  };
  return {
    finalize: async () => {
      try {
        await finalizeEvidence(builder, { dir, drill, historyDir, key, appended: release });
      } finally {
        await release();
      }
    },
  };
}

async function finalizeEvidence(builder: ReportBuilder, state: { dir: string; drill: Drill | undefined; historyDir: string | undefined; key: KeyObject | undefined; appended: () => Promise<void> }): Promise<void> {
  const { dir, drill, historyDir, key } = state;
  const { report } = builder;
  const jsonPath = join(dir, `${report.runId}.json`);
  if (!existsSync(jsonPath)) return; // writeReports failed and said so in report.errors
  const before = report.errors.length;

  const compliance = report.reports.compliance!;
  try {
    await reportersMap.compliance.write(report, { dir, ...(key ? { signingKeyId: keyIdOf(key) } : {}) });
  } catch (err) {
    builder.dropFile('compliance');
    builder.errorRecord({ code: 'E_REPORT', message: redact(`cannot write ${compliance}: ${errorMessage(err)}`) });
  }
  for (const error of await sendNotifications(report, drill)) builder.errorRecord(error);
  if (report.errors.length !== before) await reportersMap.json.write(report, { dir });

  // From here on the JSON is final: later problems are returned and printed, not written into it.
  const json = await readFile(jsonPath);
  if (historyDir) {
    try {
      // Head first: a harness killed between the two leaves a head naming no record, which
      // chainHead ignores; the other order would leave a head one record behind (a fork).
      await setChainHead(historyDir, { runId: report.runId, sha256: sha256(json), sequence: report.sequence! });
      await appendToHistory(historyDir, `${report.runId}.json`, json);
    } catch (err) {
      builder.errorRecord({ code: 'E_HISTORY', message: redact(`cannot append ${report.runId} to the history ${historyDir}: ${errorMessage(err)}`) });
    }
  }
  await state.appended();
  if (key) {
    try {
      const files: { name: string; sha256: string; kind: string }[] = [];
      for (const [kind, name] of Object.entries(report.reports)) {
        if (kind === 'envelope' || !name || !existsSync(join(dir, name))) continue;
        files.push({ name, kind, sha256: kind === 'json' ? sha256(json) : sha256(await readFile(join(dir, name))) });
      }
      const statement = runStatement(report, files);
      const envelope = `${JSON.stringify(signEnvelope(inTotoPayloadType, Buffer.from(JSON.stringify(statement)), key), null, 2)}\n`;
      await atomicWrite(join(dir, report.reports.envelope!), envelope);
      if (historyDir) await appendToHistory(historyDir, report.reports.envelope!, envelope);
    } catch (err) {
      builder.errorRecord(toError(err, 'E_SIGN'));
    }
  }
}
