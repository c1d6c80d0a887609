import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { ArtefactError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { openArtefact, type ArtefactInfo } from '../../sources/local.ts';
import type { StoreSpecOf } from '../../drill/types.ts';

type MariadbRestoreStep = StoreSpecOf<'mariadb'>['restore'][number];
import type { RestoreContext, RestoreStepResult, VerifiedArtefact } from '../types.ts';
import { runRestoreSteps, type RestoreStep, type StepOutcome } from '../steps.ts';
import { toolErrorLine, toolStderrTail } from '../../util/tool-output.ts';
import { quoteIdent, withMariadb } from './client.ts';
import { restoreAdminSql } from './account.ts';
import { systemDatabases } from './baseline.ts';
import { inspectPhysical, isXbstream, physicalBinlogPosition, physicalFormat, type BinlogPosition } from './physical.ts';
import { binlogFiles, dumpBinlogPosition, lastEventBefore, replayCommand, replayPlan, stopDatetime } from './binlog.ts';

/**
 * The client reads the dump as data: --binary-mode turns off every client command but DELIMITER
 * and \C (no `\!` or `system`, `source`, `tee`, `connect`), --sandbox refuses the file and shell
 * ones again, --local-infile=0 keeps LOAD DATA LOCAL from reading this machine's files. --batch
 * stops at the first error (never --force).
 */
export const clientArgs = (database?: string) => ['--batch', '--binary-mode', '--sandbox', '--local-infile=0', '--abort-source-on-error', ...(database ? [database] : [])];

/** The dump header mariadb-dump and mysqldump write unless --skip-comments, and their last line. */
const dumpHeader = /^(?:\/\*M!999999\\- enable the sandbox mode \*\/ *\n)?-- (MariaDB|MySQL) dump /;
const completedLine = /-- Dump completed(?: on [0-9: -]+)?\s*$/;

export function detectMariadbFormat(step: MariadbRestoreStep, info: ArtefactInfo): string {
  if (step.compression === 'none' && info.compression !== 'none') throw new ArtefactError(step.artefact, `is ${info.compression}-compressed but compression: none was declared`);
  if (step.compression === 'gzip' && info.compression !== 'gzip') throw new ArtefactError(step.artefact, 'is not gzip-compressed but compression: gzip was declared');
  if (info.head.subarray(0, 512).includes(0)) throw new ArtefactError(step.artefact, 'is not SQL text (it holds NUL bytes in its first 512 bytes)', 'restore a mariadb-dump or mysqldump file');
  const header = dumpHeader.exec(info.head.toString('utf8'));
  return header ? `${header[1] === 'MariaDB' ? 'mariadb-dump' : 'mysqldump'} SQL` : 'SQL';
}

/** A directory or an xbstream is a physical backup, anything else a dump; checked before any restore. */
export async function inspectMariadbArtefact(step: MariadbRestoreStep, info: ArtefactInfo): Promise<string> {
  const ref = step.artefact as string;
  const physical = info.kind === 'directory' || isXbstream(info);
  if (physical && step.format === 'sql') throw new ArtefactError(ref, `is a ${info.kind === 'directory' ? 'directory' : 'xbstream'}, not SQL, but format: sql was declared`, 'leave format out (auto) or set format: physical');
  if (!physical && step.format === 'physical') throw new ArtefactError(ref, 'is neither a mariadb-backup directory nor an xbstream, but format: physical was declared');
  if (physical) return inspectPhysical(ref, info);
  const format = detectMariadbFormat(step, info);
  if (!info.fetchedInPod) await checkDumpEnd(step, info);
  return format;
}

/** A dump with the tools' header ends with their `-- Dump completed` line; without it, it was cut. */
const truncated = (artefact: string) => new ArtefactError(artefact, "ends before the dump tool's closing '-- Dump completed' line: the file is truncated", 'take the dump again, or copy the whole file');

/** Plain files are checked before any restore; compressed ones as they stream (see dumpStream). */
export async function checkDumpEnd(step: MariadbRestoreStep, info: ArtefactInfo): Promise<void> {
  if (info.compression !== 'none' || !dumpHeader.test(info.head.toString('utf8'))) return;
  const file = await open(info.path, 'r');
  try {
    const length = Math.min(info.size, 256);
    const { buffer } = await file.read(Buffer.alloc(length), 0, length, info.size - length);
    if (!completedLine.test(buffer.toString('utf8'))) throw truncated(step.artefact);
  } finally {
    await file.close();
  }
}

/** The artefact, then the lines that put the harness's account back; an incomplete dump ends the stream with its error instead. */
function dumpStream(step: MariadbRestoreStep, info: ArtefactInfo, trailer: string): Readable {
  const checksEnd = dumpHeader.test(info.head.toString('utf8'));
  async function* chunks() {
    let tail = '';
    for await (const chunk of openArtefact(info)) {
      if (checksEnd) tail = (tail + (chunk as Buffer).toString('latin1')).slice(-256);
      yield chunk as Buffer;
    }
    if (checksEnd && !completedLine.test(tail)) throw truncated(step.artefact);
    yield Buffer.from(trailer);
  }
  return Readable.from(chunks(), { objectMode: false });
}

export function describeMariadbRestore(spec: StoreSpecOf<'mariadb'>, artefacts: VerifiedArtefact[]): string[] {
  return artefacts.map((a) => {
    const step = spec.restore[a.step]!;
    const replay = step.binlogs ? `; then mariadb-binlog${step.target ? ` --stop-datetime='${stopDatetime(step.target)}' (UTC)` : ''} ${step.binlogs.join(' ')} | mariadb` : '';
    if (physicalFormat.test(a.format)) return `${a.format === 'mariadb-backup xbstream' ? `mbstream -x < ${a.info.path}` : `copy ${a.info.path}`} into the run's dir, mariadb-backup --prepare there, and start mariadbd on it${replay}`;
    const create = step.database ? `create database ${quoteIdent(step.database)}; ` : '';
    const input = a.info.compression === 'gzip' ? `gunzip < ${a.info.path}` : a.info.path;
    return `${create}${input}, then the harness account's grants | mariadb ${clientArgs(step.database).join(' ')}${replay}`;
  });
}


export function restoreMariadb(store: StartedStore, spec: StoreSpecOf<'mariadb'>, artefacts: VerifiedArtefact[], context: RestoreContext): Promise<RestoreStepResult[]> {
  return runRestoreSteps(artefacts.map((artefact) => {
    const step = spec.restore[artefact.step]!;
    if (physicalFormat.test(artefact.format)) return physicalRestoreStep(store, step, artefact, context);
    const args = clientArgs(step.database);
    return {
      base: { step: artefact.step, artefact: step.artefact, format: artefact.format, ...(step.database ? { database: step.database } : {}), tool: 'mariadb', args },
      title: `mariadb < ${step.artefact}${step.database ? ` → ${step.database}` : ''}`,
      async run(): Promise<StepOutcome> {
        const what = `store ${store.name}`;
        // Only ever into the server this run created; CREATE DATABASE fails if the name is taken.
        if (step.database) await withMariadb(store.endpoint, what, undefined, (c) => c.query(`CREATE DATABASE ${quoteIdent(step.database!)}`));
        const input = dumpStream(step, artefact.info, restoreAdminSql(store.endpoint.user, store.endpoint.password));
        const run = await store.exec('mariadb', args, { signal: context.signal, stdin: input });
        // The client numbers the lines it read: they are the artefact's.
        const stderr = run.stderr.replace(/ at line (\d+)/g, (_, line: string) => ` at line ${line} of ${step.artefact}`);
        const ok = run.exitCode === 0 && !run.inputError;
        const outcome: StepOutcome = { status: ok ? 'passed' : 'failed', exitCode: run.exitCode, stderr: toolStderrTail(stderr, 20) };
        if (run.inputError) outcome.error = run.inputError.startsWith(step.artefact) ? run.inputError : `cannot read ${step.artefact} to the end (${run.inputError}); mariadb saw only part of it`;
        else if (!ok) {
          const how = run.exitCode === null ? `was killed by ${run.signal}` : `exited with code ${run.exitCode}`;
          const line = toolErrorLine(stderr, /error/i);
          const hint = /No database selected/i.test(stderr) && !step.database ? ' (a dump of one database made without --databases: set database on the step)' : '';
          outcome.error = `mariadb ${how} restoring ${step.artefact}${line ? `: ${line}` : ''}${hint}`;
        } else {
          if (step.binlogs) return replayBinlogs(store, step, await dumpBinlogPosition(artefact.info), context);
          outcome.details = { databases: await userDatabases(store) };
        }
        return outcome;
      },
    };
  }), context);
}

async function userDatabases(store: StartedStore): Promise<string[]> {
  const [rows] = await withMariadb(store.endpoint, `store ${store.name}`, undefined, (c) => c.query('SHOW DATABASES'));
  return (rows as { Database: string }[]).map((r) => r.Database).filter((d) => !systemDatabases.has(d));
}

/**
 * A physical backup was prepared into the data dir when the server was provisioned (the server
 * answering proves it started on it); this step records what it holds and replays the binlogs.
 */
function physicalRestoreStep(store: StartedStore, step: MariadbRestoreStep, artefact: VerifiedArtefact, context: RestoreContext): RestoreStep {
  const ref = step.artefact as string;
  return {
    base: { step: artefact.step, artefact: ref, format: artefact.format, tool: 'mariadb-backup', args: ['--prepare', '--target-dir=<a copy in the run\'s dir>'] },
    title: `mariadb-backup ${ref}`,
    async run(): Promise<StepOutcome> {
      if (artefact.step !== 0) {
        return { status: 'failed', exitCode: null, stderr: '', error: `${ref}: a physical backup must be the store's first step, restored before the server starts` };
      }
      if (step.binlogs) return replayBinlogs(store, step, physicalBinlogPosition(artefact.info), context);
      return { status: 'passed', exitCode: 0, stderr: '', details: { databases: await userDatabases(store) } };
    },
  };
}

/** Point-in-time recovery: the step's binlogs from the backup's position up to its target, into the running server. */
async function replayBinlogs(store: StartedStore, step: MariadbRestoreStep, from: BinlogPosition | undefined, context: RestoreContext): Promise<StepOutcome> {
  const ref = step.artefact as string;
  const plan = replayPlan(ref, binlogFiles(step, context.drillDir), from);
  const logged = from && step.target ? await lastEventBefore(plan.files[0]!, from.position) : undefined;
  if (logged && logged.getTime() >= Date.parse(stopDatetime(step.target!).replace(' ', 'T') + 'Z')) {
    return {
      status: 'failed', exitCode: null, stderr: '', details: { target: step.target!, replayedFrom: plan.startsAt },
      error: `${ref} already holds a change logged at ${logged.toISOString()}, at or after the target ${step.target}: the target cannot be reached from this backup (restore an older one)`,
    };
  }
  const staged: string[] = [];
  for (const file of plan.files) staged.push(await store.stage(file, context.signal));
  const binlogArgs = [...plan.args, ...(step.target ? [`--stop-datetime=${stopDatetime(step.target)}`] : []), ...staged];
  const run = await store.exec('bash', replayCommand(binlogArgs, clientArgs()), { signal: context.signal });
  const names = plan.files.map((f) => basename(f));
  const replayed = { tool: 'mariadb-binlog', args: ['--no-defaults', '--verify-binlog-checksum', ...binlogArgs, '|', 'mariadb', ...clientArgs()] };
  const details = { ...(step.target ? { target: step.target, stopDatetime: `${stopDatetime(step.target)} UTC` } : {}), binlogs: names, replayedFrom: plan.startsAt };
  if (run.exitCode === 0) return { status: 'passed', exitCode: 0, stderr: toolStderrTail(run.stderr, 20), ...replayed, details: { ...details, databases: await userDatabases(store) } };
  const line = toolErrorLine(run.stderr, /error|invalid|corrupt/i);
  return {
    status: 'failed', exitCode: run.exitCode, stderr: toolStderrTail(run.stderr, 20), ...replayed, details,
    error: `replaying the binlogs ${names.join(', ')} after ${ref} failed (exit ${run.exitCode ?? run.signal})${line ? `: ${line}` : ''}`,
  };
}
