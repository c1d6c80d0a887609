import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtefactError } from '../../errors.ts';
import type { ArtefactInfo } from '../../sources/local.ts';
import type { PostgresRestoreStep } from '../../drill/types.ts';

/** One backup set of a pgBackRest repository, as `backup/<stanza>/backup.info` lists it. */
export interface PgbackrestBackup {
  label: string;
  type: 'full' | 'diff' | 'incr' | string;
  /** Epoch milliseconds. */
  startedAt: number;
  stoppedAt: number;
}

export interface PgbackrestRepo {
  stanza: string;
  /** PostgreSQL major version of the backed-up cluster (`[db] db-version`). */
  pgVersion: string;
  backups: PgbackrestBackup[];
}

/**
 * A PITR target as PostgreSQL and pgBackRest read it, e.g. `2026-03-02 14:00:00.123456+00`.
 * The zone is required: without one the restored server's TimeZone decides, and the evidence
 * could not say which instant was meant. Returns epoch ms, or NaN.
 */
export function parseTargetTime(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i.exec(text.trim());
  if (!m) return Number.NaN;
  let zone = m[3]!.toUpperCase();
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  // JavaScript dates keep milliseconds; the extra digits cannot change which side of a backup it falls.
  const time = m[2]!.replace(/(\.\d{3})\d+$/, '$1');
  return Date.parse(`${m[1]}T${time}${zone}`);
}

/** Reads `backup.info` (or its `.copy`, which pgBackRest writes beside it) of a stanza. */
export async function readPgbackrestRepo(repo: string, stanza: string, ref: string): Promise<PgbackrestRepo> {
  const dir = join(repo, 'backup', stanza);
  let text: string | undefined;
  for (const name of ['backup.info', 'backup.info.copy']) {
    text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) break;
  }
  if (text === undefined) {
    const stanzas = await readdir(join(repo, 'backup')).catch(() => undefined);
    if (!stanzas) throw new ArtefactError(ref, `is not a pgBackRest repository (no backup/${stanza}/backup.info)`, 'point artefact at the repository directory (repo1-path), the one holding archive/ and backup/');
    throw new ArtefactError(ref, `has no stanza ${stanza}${stanzas.length ? ` (stanzas: ${stanzas.join(', ')})` : ''}`);
  }
  if (!(await readFile(join(repo, 'archive', stanza, 'archive.info'), 'utf8').catch(() => undefined)) && !(await readFile(join(repo, 'archive', stanza, 'archive.info.copy'), 'utf8').catch(() => undefined))) {
    throw new ArtefactError(ref, `has no WAL archive for stanza ${stanza} (archive/${stanza}/archive.info is missing); a backup cannot be made consistent without it`);
  }
  const backups: PgbackrestBackup[] = [];
  let section = '';
  let pgVersion = '';
  for (const line of text.split('\n')) {
    const header = /^\[(.+)\]\s*$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const [key, value] = [line.slice(0, eq), line.slice(eq + 1)];
    if (section === 'db' && key === 'db-version') pgVersion = JSON.parse(value) as string;
    if (section === 'backup:current') {
      try {
        const b = JSON.parse(value) as Record<string, unknown>;
        backups.push({ label: key, type: String(b['backup-type']), startedAt: Number(b['backup-timestamp-start']) * 1000, stoppedAt: Number(b['backup-timestamp-stop']) * 1000 });
      } catch {
        throw new ArtefactError(ref, `backup/${stanza}/backup.info has an unreadable entry for ${key}`);
      }
    }
  }
  backups.sort((a, b) => a.stoppedAt - b.stoppedAt);
  return { stanza, pgVersion, backups };
}

/** The set a step restores: the one named, else the newest that ended before the target, else the newest. */
export function choosePgbackrestSet(step: PostgresRestoreStep, repo: PgbackrestRepo): PgbackrestBackup {
  const ref = step.artefact;
  if (!repo.backups.length) throw new ArtefactError(ref, `stanza ${repo.stanza} has no backups`);
  const iso = (ms: number) => new Date(ms).toISOString();
  const target = step.target === undefined ? undefined : parseTargetTime(step.target);
  if (target !== undefined && Number.isNaN(target)) throw new ArtefactError(ref, `target "${step.target}" is not a timestamp with a time zone (e.g. 2026-03-02 14:00:00+00)`);
  let chosen: PgbackrestBackup | undefined;
  if (step.set) {
    chosen = repo.backups.find((b) => b.label === step.set);
    if (!chosen) throw new ArtefactError(ref, `has no backup set ${step.set} in stanza ${repo.stanza} (sets: ${repo.backups.map((b) => b.label).join(', ')})`);
  }
  if (target !== undefined) {
    const first = repo.backups[0]!;
    if (target < first.stoppedAt) {
      throw new ArtefactError(ref, `target ${step.target} is before the end of the first backup in stanza ${repo.stanza} (${first.label}, consistent from ${iso(first.stoppedAt)}); nothing in the repository can be recovered to it`, 'pick a target after the oldest backup ended, or restore the latest');
    }
    if (chosen && target < chosen.stoppedAt) throw new ArtefactError(ref, `target ${step.target} is before backup set ${chosen.label} ended (${iso(chosen.stoppedAt)})`, 'pick an older set, or leave set out to let the target choose it');
    chosen ??= repo.backups.filter((b) => b.stoppedAt <= target).at(-1)!;
  }
  return chosen ?? repo.backups.at(-1)!;
}

/** Checks a repository step before anything starts; the format string names the set and the target. */
export async function inspectPgbackrest(step: PostgresRestoreStep, info: ArtefactInfo): Promise<{ format: string; pointInTime: { at: string; source: string } }> {
  if (info.kind !== 'directory') throw new ArtefactError(step.artefact, 'is a file; format pgbackrest needs the repository directory (repo1-path)');
  const repo = await readPgbackrestRepo(info.path, step.stanza!, step.artefact);
  const set = choosePgbackrestSet(step, repo);
  const format = `pgbackrest ${set.label} (${set.type}, PostgreSQL ${repo.pgVersion}, stanza ${repo.stanza})${step.target ? ` to ${step.target}` : ', latest'}`;
  const pointInTime = step.target
    ? { at: new Date(parseTargetTime(step.target)).toISOString(), source: 'pgbackrest recovery target' }
    : { at: info.modifiedAt, source: `newest file in the repository (archived WAL is replayed to its end after set ${set.label})` };
  return { format, pointInTime };
}

/** pgbackrest's own arguments for a step; the config (repo1-path, pg1-path, lock and log paths) is generated by the runtime. */
export function pgbackrestRestoreArgs(step: PostgresRestoreStep, setLabel: string | undefined, config: string): string[] {
  return [
    `--config=${config}`, `--stanza=${step.stanza}`, '--archive-mode=off', '--log-level-console=warn', '--log-level-file=off',
    ...(setLabel ? [`--set=${setLabel}`] : []),
    ...(step.target ? ['--type=time', `--target=${step.target}`, '--target-action=promote'] : []),
    'restore',
  ];
}

/** The set label inside a verified artefact's format string. */
export function setOfFormat(format: string): string | undefined {
  return /^pgbackrest (\S+)/.exec(format)?.[1];
}
