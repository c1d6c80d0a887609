import { randomBytes } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { ArtefactError, RestoreproofError, StepConfigError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';
import { openArtefact, type ArtefactInfo } from '../../sources/local.ts';
import type { PostgresRestoreStep, PostgresStoreSpec } from '../../drill/types.ts';
import type { RestoreContext, RestoreStepResult, VerifiedArtefact } from '../types.ts';
import { connectPostgres } from './connect.ts';
import { quoteIdentifier } from './identifiers.ts';
import { pgbackrestRestoreArgs, setOfFormat } from './pgbackrest.ts';
import { runRestoreSteps, type RestoreStep, type StepOutcome } from '../steps.ts';
import { toolErrorLine, toolStderrTail } from '../../util/tool-output.ts';
import { psqlGuardStream } from './psql-guard.ts';

export type ResolvedFormat = 'custom' | 'plain' | 'dumpall';

export function detectPostgresFormat(spec: PostgresStoreSpec, index: number, info: ArtefactInfo): ResolvedFormat {
  const step = spec.restore[index]!;
  if (step.compression === 'none' && info.compression !== 'none') throw new ArtefactError(step.artefact, `is ${info.compression}-compressed but compression: none was declared`);
  if (step.compression === 'gzip' && info.compression !== 'gzip') throw new ArtefactError(step.artefact, 'is not gzip-compressed but compression: gzip was declared');
  const isCustom = info.head.subarray(0, 5).toString('latin1') === 'PGDMP';
  const text = info.head.toString('utf8');
  const declared = step.format ?? 'auto';
  if (declared === 'custom' && !isCustom) throw new ArtefactError(step.artefact, 'is not a pg_dump custom-format archive (no PGDMP header)', 'use format: plain for SQL dumps, or check that the file is complete');
  if ((declared === 'plain' || declared === 'dumpall') && isCustom) throw new ArtefactError(step.artefact, `is a pg_dump custom-format archive, not ${declared} SQL`, 'use format: custom');
  if (declared === 'pgbackrest') throw new ArtefactError(step.artefact, 'is a pgBackRest repository step; it is inspected as a directory');
  if (declared !== 'auto') return declared;
  if (isCustom) return 'custom';
  if (/database cluster dump/i.test(text)) {
    // The drill asks for one database (it must, unless format is dumpall), the file holds a cluster.
    throw new StepConfigError(step.artefact, 'database', 'is pg_dumpall output, which creates its own roles and databases, so database: cannot apply', 'set format: dumpall and remove database from this step');
  }
  if (looksBinary(info.head)) throw new ArtefactError(step.artefact, 'is neither a pg_dump custom archive nor SQL text', 'check the file; a directory-format dump is not supported yet');
  return 'plain';
}

/**
 * A custom-format header carries the dump's creation time (struct tm fields after the version,
 * int size, offset size and compression). Read it as the artefact's point in time; the file's
 * mtime is the fallback used by the run.
 */
export function customDumpTime(info: ArtefactInfo): { pointInTime?: { at: string; source: string } } {
  const h = info.head;
  if (h.subarray(0, 5).toString('latin1') !== 'PGDMP') return {};
  const [major, minor] = [h[5]!, h[6]!];
  const intSize = h[8]!;
  let offset = 11; // magic(5) + version(3) + intSize + offSize + format
  const readInt = () => {
    const sign = h[offset]!;
    let value = 0;
    for (let i = 0; i < intSize; i++) value += h[offset + 1 + i]! * 2 ** (8 * i);
    offset += 1 + intSize;
    return sign ? -value : value;
  };
  if (major !== 1 || minor < 10 || intSize < 1 || intSize > 8) return {};
  // 1.15 stores the compression algorithm as one byte; earlier versions as an int.
  if (minor >= 15) offset += 1;
  else readInt();
  const [sec, min, hour, mday, mon, year] = [readInt(), readInt(), readInt(), readInt(), readInt(), readInt()];
  if (offset > h.length || mon < 0 || mon > 11 || mday < 1 || mday > 31) return {};
  // pg_dump writes local time of the dumping machine; without its zone, UTC is the honest reading.
  const at = new Date(Date.UTC(1900 + year, mon, mday, hour, min, sec));
  return Number.isNaN(at.getTime()) ? {} : { pointInTime: { at: at.toISOString(), source: 'pg_dump header (local time of the dumping host)' } };
}

function looksBinary(head: Buffer): boolean {
  return head.subarray(0, 256).includes(0);
}

export function describePostgresRestore(spec: PostgresStoreSpec, artefacts: VerifiedArtefact[]): string[] {
  return artefacts.map((a) => {
    const step = spec.restore[a.step]!;
    if (step.format === 'pgbackrest') {
      return `pgbackrest ${pgbackrestRestoreArgs(step, setOfFormat(a.format), '<temp dir>/pgbackrest.conf').join(' ')} (repo1-path ${a.info.path}, read only) into the server's fresh data dir, then start postgres on it and wait for recovery to finish`;
    }
    const { tool, args } = commandFor(step, a.format as ResolvedFormat, a.info);
    const create = step.database ? `create database ${quoteIdentifier(step.database)}; ` : '';
    const gunzip = a.info.compression === 'gzip' ? `gunzip < ${a.info.path} | ` : '';
    const input = tool === 'psql' && !a.info.fetchedInPod ? `${gunzip || `${a.info.path} | `}meta-command guard (only \\connect, \\encoding, \\restrict, \\unrestrict) | ` : gunzip;
    return `${create}${input}${tool} ${args.join(' ')}`;
  });
}

/** psql, and pg_restore of a compressed archive, read the artefact from stdin: the harness streams every byte of it. */
export function restoreStreamsArtefact(step: PostgresRestoreStep, format: ResolvedFormat, info: ArtefactInfo): boolean {
  return !info.fetchedInPod && commandFor(step, format, info).viaStdin;
}

/** `path` is where the tool sees the artefact (the staged copy on a containers runtime). */
function commandFor(step: PostgresRestoreStep, format: ResolvedFormat, info: ArtefactInfo, path = info.path): { tool: string; args: string[]; viaStdin: boolean } {
  // Plain SQL always streams through the meta-command guard (except when a pod fetched it: it never reaches us).
  const viaStdin = info.compression !== 'none' || (format !== 'custom' && !info.fetchedInPod);
  const extra = step.extraArgs ?? [];
  if (format === 'custom') {
    // pg_restore reads a compressed stream from stdin, but --jobs needs a seekable file.
    const jobs = !viaStdin && step.jobs && step.jobs > 1 ? ['--jobs', String(step.jobs)] : [];
    const exitOnError = step.exitOnError === false ? [] : ['--exit-on-error'];
    return { tool: 'pg_restore', args: ['--no-owner', '--no-privileges', ...exitOnError, ...jobs, '--dbname', step.database!, ...extra, ...(viaStdin ? [] : [path])], viaStdin };
  }
  const onError = step.exitOnError === false ? [] : ['-v', 'ON_ERROR_STOP=1'];
  const database = format === 'dumpall' ? 'postgres' : step.database!;
  return { tool: 'psql', args: ['-X', '-q', ...onError, '--dbname', database, ...extra, '-f', viaStdin ? '-' : path], viaStdin };
}

export async function restorePostgres(store: StartedStore, spec: PostgresStoreSpec, artefacts: VerifiedArtefact[], context: RestoreContext): Promise<RestoreStepResult[]> {
  return runRestoreSteps(artefacts.map((artefact) => {
    const step = spec.restore[artefact.step]!;
    if (step.format === 'pgbackrest') return pgbackrestStep(store, step, artefact);
    const format = artefact.format as ResolvedFormat;
    const { tool, args, viaStdin } = commandFor(step, format, artefact.info);
    return {
      base: { step: artefact.step, artefact: step.artefact, format, ...(step.database ? { database: step.database } : {}), tool, args },
      title: `${tool} ${step.artefact}${step.database ? ` → ${step.database}` : ''}`,
      async run(): Promise<StepOutcome> {
        if (step.database || step.roles?.length) await prepareTarget(store, step);
        let run;
        if (artefact.info.fetchedInPod) {
          // Already where the tool runs (fetch: pod); gzip is undone there. gunzip -t first: without
          // pipefail, a truncated stream would not show in the exit code of the pipe.
          const path = artefact.info.path;
          run = viaStdin
            ? await store.exec('sh', ['-c', 'gunzip -t -- "$0" && gunzip -c -- "$0" | "$@"', path, tool, ...args], { signal: context.signal })
            : await store.exec(tool, commandFor(step, format, artefact.info, path).args, { signal: context.signal });
        } else if (tool === 'psql') {
          const restrictKey = await psqlRestrictKey(store, context.signal);
          if (!restrictKey && step.exitOnError === false) {
            throw new RestoreproofError('E_PREFLIGHT', `store ${store.name}: exitOnError: false needs a psql that has \\restrict (PostgreSQL 13.22, 14.19, 15.14, 16.10, 17.6, 18 or later); without it a COPY that fails would have psql run its data lines as commands`, {
              hint: 'use a newer image or binDir, or remove exitOnError: false',
            });
          }
          const guard = psqlGuardStream({ artefact: step.artefact, ...(restrictKey ? { restrictKey } : {}) });
          // pipeline: a refused line also closes the artefact.
          run = await store.exec(tool, args, { signal: context.signal, stdin: pipeline(openArtefact(artefact.info), guard, () => {}) });
          if (guard.rejection) throw guard.rejection;
          // psql numbers the lines it read, the guard's \restrict lines included: name the artefact's.
          run = { ...run, stderr: run.stderr.replace(/psql:<stdin>:(\d+):/g, (_, line: string) => `psql:${step.artefact}:${guard.inputLine(Number(line))}:`) };
        } else {
          // Compressed artefacts stream through stdin; files are staged where the tool runs.
          const staged = viaStdin ? artefact.info.path : await store.stage(artefact.info.path, context.signal);
          run = await store.exec(tool, viaStdin ? args : commandFor(step, format, artefact.info, staged).args, { signal: context.signal, ...(viaStdin ? { stdin: openArtefact(artefact.info) } : {}) });
        }
        const ok = run.exitCode === 0 && !run.inputError;
        const outcome: StepOutcome = { status: ok ? 'passed' : 'failed', exitCode: run.exitCode, stderr: toolStderrTail(run.stderr, 20) };
        if (run.inputError) outcome.error = `cannot read ${step.artefact} to the end (${run.inputError}); ${tool} saw only part of it`;
        else if (!ok) {
          const how = run.exitCode === null ? `was killed by ${run.signal}` : `exited with code ${run.exitCode}`;
          outcome.error = `${tool} ${how} restoring ${step.artefact}${lastErrorLine(run.stderr) ? `: ${lastErrorLine(run.stderr)}` : ''}`;
        }
        return outcome;
      },
    };
  }), context);
}

const restrictSupport = new WeakMap<StartedStore, Promise<boolean>>();

/**
 * A fresh key for `\restrict` when this store's psql has it (asked once per store: psql reads
 * `\restrict k` then `\unrestrict k`), else undefined. Older psql calls it an invalid command.
 */
async function psqlRestrictKey(store: StartedStore, signal: AbortSignal): Promise<string | undefined> {
  let supported = restrictSupport.get(store);
  if (!supported) {
    const key = randomBytes(16).toString('hex');
    supported = store
      .exec('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--dbname', 'postgres'], { signal, stdin: Readable.from([`\\restrict ${key}\n\\unrestrict ${key}\n`]) })
      .then((run) => run.exitCode === 0, () => false);
    restrictSupport.set(store, supported);
  }
  return (await supported) ? randomBytes(24).toString('hex') : undefined;
}

async function prepareTarget(store: StartedStore, step: PostgresRestoreStep) {
  const client = await connectPostgres({ ...store.endpoint, database: 'postgres' }, `store ${store.name}`);
  try {
    for (const role of step.roles ?? []) {
      const exists = await client.query('select 1 from pg_roles where rolname = $1', [role]);
      if (exists.rowCount === 0) await client.query(`create role ${quoteIdentifier(role)} nologin`);
    }
    // Only ever into the server this run created; template0 so the dump's own objects do not clash.
    if (step.database) await client.query(`create database ${quoteIdentifier(step.database)} template template0 encoding 'UTF8'`);
  } finally {
    await client.end().catch(() => {});
  }
}

function lastErrorLine(stderr: string): string {
  return toolErrorLine(stderr, /error/i);
}

/**
 * A pgbackrest step was restored when the server was provisioned (pgbackrest restore into the
 * fresh data dir, then recovery to its end or to the target). Records what the server recovered to.
 */
function pgbackrestStep(store: StartedStore, step: PostgresRestoreStep, artefact: VerifiedArtefact): RestoreStep {
  return {
    base: { step: artefact.step, artefact: step.artefact, format: artefact.format, tool: 'pgbackrest', args: pgbackrestRestoreArgs(step, setOfFormat(artefact.format), 'pgbackrest.conf') },
    title: `pgbackrest ${step.artefact} (stanza ${step.stanza})`,
    async run(): Promise<StepOutcome> {
      if (!store.restoredAtStart?.includes(artefact.step)) {
        return { status: 'failed', exitCode: null, stderr: '', error: `format pgbackrest restores ${step.artefact} into the server's data dir before it starts, which only the local runtime does; run with --runtime local` };
      }
      const client = await connectPostgres({ ...store.endpoint, database: 'postgres' }, `store ${store.name}`);
      try {
        const row = (await client.query<{ recovering: boolean; last: Date | null; timeline: number }>(
          'select pg_is_in_recovery() as recovering, pg_last_xact_replay_timestamp() as last, (select timeline_id from pg_control_checkpoint()) as timeline',
        )).rows[0]!;
        const ok = !row.recovering;
        return {
          status: ok ? 'passed' : 'failed', exitCode: 0, stderr: '',
          details: { set: setOfFormat(artefact.format), ...(step.target ? { target: step.target } : {}), lastReplayedTransactionAt: row.last?.toISOString() ?? null, timeline: row.timeline },
          ...(ok ? {} : { error: `the server restored from ${step.artefact} is still in recovery` }),
        };
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}
