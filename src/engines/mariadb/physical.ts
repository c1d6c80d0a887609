import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { ArtefactError } from '../../errors.ts';
import { openArtefact, type ArtefactInfo } from '../../sources/local.ts';
import { runTool } from '../../util/process.ts';
import { toolStderrTail } from '../../util/tool-output.ts';
import type { Account } from '../../runtimes/local/server.ts';
import type { VerifiedArtefact } from '../types.ts';
import type { StoreSpecOf } from '../../drill/types.ts';

/** The file mariadb-backup writes into every backup; its absence means the directory is not one (or lost it). */
export const checkpointsFile = 'xtrabackup_checkpoints';
/** Where mariadb-backup records the binlog position of the backup (the second name: MariaDB 11.x). */
const binlogInfoFiles = ['xtrabackup_binlog_info', 'mariadb_backup_binlog_info'];

export const physicalFormat = /^mariadb-backup /;

/** The store's physical step, when it has one (validation makes it the first): the server starts on it. */
export function physicalStep(spec: StoreSpecOf<'mariadb'>, artefacts: VerifiedArtefact[] | undefined): { ref: string; artefact: VerifiedArtefact } | undefined {
  const artefact = artefacts?.find((a) => a.step === 0 && physicalFormat.test(a.format));
  return artefact ? { ref: spec.restore[artefact.step]!.artefact as string, artefact } : undefined;
}

export const XBSTREAM_MAGIC = 'XBSTCK01';
export const isXbstream = (info: ArtefactInfo) => info.head.subarray(0, 8).toString('latin1') === XBSTREAM_MAGIC;

/** Where binlog replay starts: a file name and a byte position in it. */
export interface BinlogPosition {
  file: string;
  position: number;
  source: string;
}

/** What inspecting a physical backup found, kept for the restore step (same process, same artefact object). */
const facts = new WeakMap<ArtefactInfo, { binlog?: BinlogPosition }>();
export const physicalBinlogPosition = (info: ArtefactInfo) => facts.get(info)?.binlog;

function parseBinlogInfo(text: string, source: string): BinlogPosition | undefined {
  const [file, position] = text.trim().split(/\s+/);
  return file && position && /^\d+$/.test(position) ? { file, position: Number(position), source } : undefined;
}

/**
 * Reads a mariadb-backup directory or xbstream without changing it. The directory must hold
 * xtrabackup_checkpoints and ibdata1; the xbstream is walked chunk by chunk (magic, CRC32 of
 * every payload, an end chunk for every file), so a truncated or damaged stream is refused
 * before any server starts. Returns the format's name.
 */
export async function inspectPhysical(ref: string, info: ArtefactInfo): Promise<string> {
  if (info.kind === 'directory') {
    const missing = [checkpointsFile, 'ibdata1'].filter((f) => !existsSync(join(info.path, f)));
    if (missing.length) throw new ArtefactError(ref, `is not a complete mariadb-backup directory: ${missing.join(' and ')} missing`, 'point the step at the directory mariadb-backup --backup --target-dir wrote, unchanged');
    if (!/backup_type\s*=/.test(await readFile(join(info.path, checkpointsFile), 'utf8'))) throw new ArtefactError(ref, `${checkpointsFile} names no backup_type: the backup is damaged`);
    if ((await stat(join(info.path, 'ibdata1'))).size === 0) throw new ArtefactError(ref, 'ibdata1 is empty: the backup is damaged');
    let binlog: BinlogPosition | undefined;
    for (const name of binlogInfoFiles) if (!binlog && existsSync(join(info.path, name))) binlog = parseBinlogInfo(await readFile(join(info.path, name), 'utf8'), name);
    facts.set(info, binlog ? { binlog } : {});
    return 'mariadb-backup directory';
  }
  const { files, binlog } = await walkXbstream(ref, info);
  if (!files.has(checkpointsFile)) throw new ArtefactError(ref, `holds no ${checkpointsFile}: not a complete mariadb-backup stream`);
  facts.set(info, binlog ? { binlog } : {});
  return 'mariadb-backup xbstream';
}

/**
 * xbstream chunks: magic "XBSTCK01", flags (1), type (1: P payload, E end of file), path length
 * (4, LE), path; a payload chunk then has length (8), offset (8), CRC32 (4) and the bytes.
 */
async function walkXbstream(ref: string, info: ArtefactInfo): Promise<{ files: Set<string>; binlog?: BinlogPosition }> {
  const damaged = (what: string) => new ArtefactError(ref, `is not a complete xbstream: ${what}`, 'take the backup again, or copy the whole file');
  const open = new Set<string>();
  const files = new Set<string>();
  const binlogInfo = new Map<string, Buffer[]>();
  let buffer: Buffer = Buffer.alloc(0);
  let offset = 0; // of buffer[0] in the stream
  let pending: { path: string; length: number; checksum: number } | undefined;
  const consume = (n: number) => {
    buffer = buffer.subarray(n);
    offset += n;
  };
  try {
    for await (const chunk of openArtefact(info)) {
      buffer = buffer.length ? Buffer.concat([buffer, chunk as Buffer]) : (chunk as Buffer);
      for (;;) {
        if (pending) {
          if (buffer.length < pending.length) break;
          const data = buffer.subarray(0, pending.length);
          if (crc32(data) !== pending.checksum) throw damaged(`the data of ${pending.path} at byte ${offset} fails its checksum`);
          binlogInfo.get(pending.path)?.push(Buffer.from(data));
          consume(pending.length);
          pending = undefined;
          continue;
        }
        if (buffer.length < 14) break;
        if (buffer.subarray(0, 8).toString('latin1') !== XBSTREAM_MAGIC) throw damaged(`no chunk header at byte ${offset}`);
        const type = String.fromCharCode(buffer[9]!);
        const pathLength = buffer.readUInt32LE(10);
        const headerLength = 14 + pathLength + (type === 'P' ? 20 : 0);
        if (buffer.length < headerLength) break;
        const path = buffer.subarray(14, 14 + pathLength).toString('utf8');
        if (type === 'E') {
          open.delete(path);
          files.add(path);
          consume(headerLength);
        } else if (type === 'P') {
          open.add(path);
          if (binlogInfoFiles.includes(path) && !binlogInfo.has(path)) binlogInfo.set(path, []);
          const length = Number(buffer.readBigUInt64LE(14 + pathLength));
          pending = { path, length, checksum: buffer.readUInt32LE(14 + pathLength + 16) };
          consume(headerLength);
        } else {
          // Sparse chunks (page-compressed tables) carry a map this walk does not read: stop checking here.
          return { files: new Set([...files, checkpointsFile]) };
        }
      }
    }
  } catch (err) {
    if (err instanceof ArtefactError) throw err;
    throw new ArtefactError(ref, `cannot be read to its end: ${(err as Error).message}`);
  }
  if (pending || buffer.length) throw damaged(`it ends inside a chunk at byte ${offset + buffer.length} (the file is truncated)`);
  if (open.size) throw damaged(`it ends before ${[...open].slice(0, 3).join(', ')} ${open.size > 1 ? 'are' : 'is'} complete (the file is truncated)`);
  for (const [name, parts] of binlogInfo) {
    const position = parseBinlogInfo(Buffer.concat(parts).toString('utf8'), name);
    if (position) return { files, binlog: position };
  }
  return { files };
}

export interface PhysicalTools {
  backup: string;
  mbstream: string;
}

/**
 * The physical backup into `data` (which must not exist yet), never touching the source: a
 * directory is copied into the run's dir first (--prepare rewrites it), an xbstream extracted
 * there; then mariadb-backup --prepare, and the prepared copy becomes the data dir.
 */
export async function prepareLocally(options: { dir: string; data: string; ref: string; artefact: VerifiedArtefact; tools: PhysicalTools; account: Account | undefined; signal: AbortSignal }): Promise<void> {
  const { dir, data, ref, artefact, tools, signal } = options;
  const work = join(dir, 'prepare');
  if (artefact.info.kind === 'directory') await cp(artefact.info.path, work, { recursive: true, errorOnExist: true, force: false });
  else {
    await mkdir(work, { mode: 0o700 });
    const extract = await runTool({ command: tools.mbstream, args: ['-x', '-C', work], stdin: openArtefact(artefact.info), signal });
    if (extract.exitCode !== 0 || extract.inputError) throw new ArtefactError(ref, `mbstream -x failed (${extract.inputError ?? `exit ${extract.exitCode ?? extract.signal}`}): ${toolStderrTail(extract.stderr, 3)}`);
  }
  const prepare = await runTool({ command: tools.backup, args: ['--no-defaults', '--prepare', `--target-dir=${work}`], signal });
  if (prepare.exitCode !== 0) throw new ArtefactError(ref, `mariadb-backup --prepare failed (exit ${prepare.exitCode ?? prepare.signal}): ${prepareError(prepare.stderr)}`);
  await rename(work, data);
}

/** mariadb-backup logs every step as a Note: the error lines say what went wrong. */
export function prepareError(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => /\[ERROR\]|error|corrupt|failed/i.test(l) && !/\[Note\]/.test(l));
  return (errors.length ? errors.slice(-3) : stderr.trim().split('\n').slice(-3)).map((l) => l.trim()).join(' | ');
}

/**
 * The container's command for a physical backup placed at `source`: extract (an xbstream) into the
 * container's own copy, prepare it there, copy it back into the empty data dir, then run mariadbd on
 * it with the init file that creates the harness's account. The artefact's name is the script's $1;
 * a failure prints it and ends the container before the server ever answers.
 */
export function containerPhysicalScript(options: { source: string; xbstream: boolean; gzip: boolean; initFile: string; serverArgs: string[] }): string {
  const work = options.xbstream ? '/restoreproof/prepare' : options.source;
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const extract = options.gzip ? `gzip -dc ${q(options.source)} | mbstream -x -C ${q(work)}` : `mbstream -x -C ${q(work)} < ${q(options.source)}`;
  return [
    'set -uo pipefail',
    'fail() { echo "restoreproof: $1: $2" >&2; exit 1; }',
    ...(options.xbstream ? [`mkdir -p ${q(work)}`, `${extract} || fail "$1" "mbstream -x failed"`] : []),
    `mariadb-backup --no-defaults --prepare --target-dir=${q(work)} > /tmp/prepare.log 2>&1 || { grep -iE 'error|corrupt|failed' /tmp/prepare.log | tail -n 3 >&2; fail "$1" "mariadb-backup --prepare failed"; }`,
    'mkdir -p /var/lib/mysql /run/mysqld',
    `mariadb-backup --no-defaults --copy-back --target-dir=${q(work)} --datadir=/var/lib/mysql > /tmp/copy-back.log 2>&1 || { tail -n 3 /tmp/copy-back.log >&2; fail "$1" "mariadb-backup --copy-back failed"; }`,
    'chown -R mysql:mysql /var/lib/mysql /run/mysqld',
    `exec mariadbd --user=mysql --datadir=/var/lib/mysql --init-file=${q(options.initFile)} ${options.serverArgs.map(q).join(' ')}`,
  ].join('\n');
}
