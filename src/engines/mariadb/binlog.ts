import { readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ArtefactError } from '../../errors.ts';
import { openArtefact, type ArtefactInfo } from '../../sources/local.ts';
import type { StoreSpecOf } from '../../drill/types.ts';
import type { DrillIssue } from '../types.ts';
import type { BinlogPosition } from './physical.ts';

type MariadbRestoreStep = StoreSpecOf<'mariadb'>['restore'][number];

/** An ISO 8601 time with a zone: the target must not depend on this machine's time zone. */
const isoWithZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
/** A binlog file: base name, dot, sequence number (binlog.000001, mysql-bin.000042). */
const binlogName = /^.+\.(\d{6,})$/;

/** mariadb-binlog --stop-datetime, in UTC (the replay runs with TZ=UTC): whole seconds. */
export function stopDatetime(target: string): string {
  return new Date(target).toISOString().slice(0, 19).replace('T', ' ');
}

/** The binlog files a step names, in replay order: files as listed, a directory's binlogs by number. */
export function binlogFiles(step: Pick<MariadbRestoreStep, 'binlogs'>, drillDir: string): string[] {
  return (step.binlogs ?? []).flatMap((entry) => {
    const path = resolve(drillDir, entry);
    if (!statSync(path).isDirectory()) return [path];
    return readdirSync(path).filter((n) => binlogName.test(n)).sort((a, b) => Number(binlogName.exec(a)![1]) - Number(binlogName.exec(b)![1]) || a.localeCompare(b)).map((n) => join(path, n));
  });
}

/** Load-time problems of a step's binlogs and target; paths relative to the step. */
export function binlogIssues(step: MariadbRestoreStep, drillDir: string): DrillIssue[] {
  const issues: DrillIssue[] = [];
  if (step.target !== undefined) {
    if (!step.binlogs) issues.push([['target'], 'a target needs binlogs to replay up to it']);
    if (!isoWithZone.test(step.target) || Number.isNaN(Date.parse(step.target))) issues.push([['target'], `${JSON.stringify(step.target)} is not an ISO 8601 time with a zone (2026-05-01T12:00:00Z)`]);
  }
  (step.binlogs ?? []).forEach((entry, i) => {
    const path = resolve(drillDir, entry);
    let directory: boolean;
    try {
      directory = statSync(path).isDirectory();
    } catch (err) {
      issues.push([['binlogs', i], `${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'cannot be read'}: ${path}`]);
      return;
    }
    if (directory && !readdirSync(path).some((n) => binlogName.test(n))) issues.push([['binlogs', i], `${path} holds no binlog files (name.000001 …)`]);
  });
  return issues;
}

/**
 * The binlog coordinates a dump made with --master-data (or --dump-slave) wrote near its top:
 * `CHANGE MASTER TO MASTER_LOG_FILE='binlog.000002', MASTER_LOG_POS=1234;`, maybe as a comment.
 */
export async function dumpBinlogPosition(info: ArtefactInfo): Promise<BinlogPosition | undefined> {
  // MySQL 8.0.23+ writes CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE=…, SOURCE_LOG_POS=… instead.
  const pattern = /CHANGE (?:MASTER|REPLICATION SOURCE) TO\s+(?:MASTER|SOURCE)_LOG_FILE\s*=\s*'([^']+)',\s*(?:MASTER|SOURCE)_LOG_POS\s*=\s*(\d+)/i;
  let text = '';
  const stream = openArtefact(info);
  try {
    for await (const chunk of stream) {
      text += (chunk as Buffer).toString('latin1');
      const match = pattern.exec(text);
      if (match) return { file: match[1]!, position: Number(match[2]), source: /^CHANGE MASTER/i.test(match[0]) ? "the dump's CHANGE MASTER TO" : "the dump's CHANGE REPLICATION SOURCE TO" };
      // The coordinates come before any table data: stop at the first row, or after 1 MiB.
      if (/^INSERT INTO /m.test(text) || text.length > 1 << 20) return undefined;
      text = text.slice(-512);
    }
  } catch {
    // An unreadable dump fails its own restore with the reason.
  } finally {
    stream.destroy();
  }
  return undefined;
}

/**
 * The files and arguments of the replay: from the recorded position's file on (with
 * --start-position), else every file from its start. A position in a file the step does not
 * list cannot be honoured and is refused.
 */
export function replayPlan(ref: string, files: string[], from: BinlogPosition | undefined): { files: string[]; args: string[]; startsAt: string } {
  if (!from) return { files, args: [], startsAt: `the start of ${basename(files[0]!)}` };
  const at = files.findIndex((f) => basename(f) === basename(from.file));
  if (at < 0) throw new ArtefactError(ref, `the backup's binlog position is in ${from.file} (${from.source}), which is not among the step's binlogs (${files.map((f) => basename(f)).join(', ')})`, 'list the binlogs from that file on');
  return { files: files.slice(at), args: [`--start-position=${from.position}`], startsAt: `${from.file}:${from.position} (${from.source})` };
}

/**
 * The replay as one bash pipeline in the store's tool environment: mariadb-binlog (its own
 * defaults skipped; TZ=UTC so --stop-datetime is UTC) into the sandboxed client, pipefail so a
 * corrupt binlog fails the step as much as a failed statement. Files are positional arguments.
 */
export function replayCommand(binlogArgs: string[], clientArgs: string[]): string[] {
  const script = 'set -o pipefail; n=$1; shift; TZ=UTC mariadb-binlog --no-defaults --verify-binlog-checksum "${@:1:$n}" | mariadb "${@:$((n+1))}"';
  return ['-c', script, 'restoreproof-replay', String(binlogArgs.length), ...binlogArgs, ...clientArgs];
}

/**
 * The time of the last event logged before `position` in a binlog file: the backup holds that
 * change, so a target before it cannot be reached from this backup. Walks the v4 event headers
 * (timestamp 4 bytes, type 1, server id 4, event size 4, all little-endian) after the 4-byte magic.
 */
export async function lastEventBefore(file: string, position: number): Promise<Date | undefined> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(13);
    let at = 4;
    let last: number | undefined;
    while (at < position) {
      const { bytesRead } = await handle.read(header, 0, 13, at);
      const size = header.readUInt32LE(9);
      if (bytesRead < 13 || size < 19 || at + size > position) break;
      last = header.readUInt32LE(0);
      at += size;
    }
    return last === undefined ? undefined : new Date(last * 1000);
  } finally {
    await handle.close();
  }
}
