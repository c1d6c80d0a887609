import { ArtefactError, errorMessage } from '../errors.ts';
import type { ArtefactSourceSpec } from '../drill/types.ts';
import { parseDuration } from '../util/duration.ts';
import { localReader, type SourceEntry, type SourceReader } from './reader.ts';
import { candidates, compilePattern, pickLatest, pickRandom, type Candidate, type Selection } from './select.ts';
import { Staging, type FetchJob } from './staging.ts';
import { resolve } from 'node:path';

/** One fetch job with its source opened and its artefact chosen (nothing downloaded yet). */
export interface Resolved {
  job: FetchJob;
  reader: SourceReader;
  ref: string;
  key: string;
  kind: 'file' | 'directory';
  entries: SourceEntry[];
  selection: Selection;
}

export interface FetchContext {
  runId: string;
  drillDir: string;
  signal: AbortSignal;
  staging: Staging;
  /**
   * `select: latest` picks the backup before the newest (the previous night's folder, or the
   * second newest match): an artefact mutant, proving a drill notices a stale backup. Throws
   * NoPreviousBackup when there is none.
   */
  previous?: boolean;
}

/** `previous` was asked of a source with a single backup to choose from. */
export class NoPreviousBackup extends Error {}

/** The newest candidate, or with `previous` the newest older than it. */
function newestOrPrevious(list: Candidate[], previous: boolean | undefined, what: string): Candidate | undefined {
  const newest = pickLatest(list);
  if (!previous || !newest) return newest;
  const older = pickLatest(list.filter((c) => c.key !== newest.key && c.time <= newest.time));
  if (!older) throw new NoPreviousBackup(`${what}: only one backup to choose from`);
  return older;
}

/**
 * The preflight's look at one source: connects, lists and selects the artefact exactly as the fetch
 * phase will (the newest dated folder included), and downloads nothing.
 */
export async function locateArtefact(job: FetchJob, ctx: Omit<FetchContext, 'staging'>): Promise<{ ref: string; key: string; kind: 'file' | 'directory'; size: number; reason: string }> {
  const readers: SourceReader[] = [];
  try {
    const r = await resolveJob(job, { ...ctx, staging: new Staging(ctx.runId) }, readers);
    return { ref: r.ref, key: r.key, kind: r.kind, size: r.entries.reduce((n, e) => n + e.size, 0), reason: r.selection.reason };
  } finally {
    await Promise.allSettled(readers.map((r) => r.close()));
  }
}

function splitParent(path: string): [string, string] {
  const clean = path.replace(/\/+$/, '');
  const i = clean.lastIndexOf('/');
  return i < 0 ? ['', clean] : [clean.slice(0, i) || '/', clean.slice(i + 1)];
}

async function openReader(spec: ArtefactSourceSpec, rootOf: (path: string) => string, ctx: FetchContext): Promise<SourceReader> {
  const source = spec.source;
  if (/^s3:\/\//i.test(source)) {
    const url = new URL(source);
    url.pathname = rootOf(url.pathname);
    // Remote readers load on first use (ssh2 alone is ~20 MiB).
    return (await import('./s3.ts')).s3Reader(url, spec, ctx.drillDir);
  }
  if (/^sftp:\/\//i.test(source)) {
    const url = new URL(source);
    url.pathname = rootOf(decodeURIComponent(url.pathname));
    return (await import('./sftp.ts')).sftpReader(url, spec, ctx.drillDir, ctx.signal);
  }
  const local = /^file:\/\//i.test(source) ? new URL(source).pathname : resolve(ctx.drillDir, source);
  return localReader(rootOf(local) || '/');
}

export async function resolveJob(job: FetchJob, ctx: FetchContext, readers: SourceReader[]): Promise<Resolved> {
  const { spec } = job;
  const select = spec.select;
  const sourcePath = /^(s3|sftp|file):\/\//i.test(spec.source) ? decodeURIComponent(new URL(spec.source).pathname) : spec.source;
  // Without select the source names the artefact itself: read its parent, pick its name.
  const [, name] = splitParent(sourcePath);
  const reader = await openReader(spec, (p) => (select ? p : splitParent(p)[0]), ctx);
  readers.push(reader);
  const display = spec.source.replace(/^([a-z0-9]+:\/\/[^:@/]*):[^@/]*@/i, '$1@').replace(/\/+$/, '');
  const refOf = (key: string) => (select ? `${display}/${key}` : display);
  const located = async (key: string, selection: Selection): Promise<Resolved> => {
    const ref = refOf(key);
    if (!key.endsWith('/')) {
      const entry = await reader.stat(key);
      if (entry) return { job, reader, ref, key, kind: 'file', entries: [entry], selection };
    }
    const dirKey = key.replace(/\/$/, '');
    const entries = (await reader.list(dirKey ? `${dirKey}/` : '')).map((e) => ({ ...e, key: e.key.slice(dirKey ? dirKey.length + 1 : 0) }));
    if (entries.length) return { job, reader, ref, key: dirKey, kind: 'directory', entries, selection };
    if (/^s3:/i.test(spec.source)) throw new ArtefactError(ref, `no objects at ${ref}`, 'check the bucket, the prefix, the endpoint and the credentials');
    throw new ArtefactError(ref, `backup artefact not found at ${ref}`, 'check the source and the selection');
  };

  if (!select) return located(name, { method: 'explicit', chosen: name, reason: 'named by the drill' });
  if (select.explicit) return located(select.explicit, { method: 'explicit', chosen: select.explicit, reason: 'named by the drill' });

  const patternText = select.latest ?? select.pattern;
  if (!patternText) throw new ArtefactError(spec.source, 'select needs latest, explicit, or random-within with pattern');
  let pattern;
  try {
    pattern = compilePattern(patternText);
  } catch (err) {
    throw new ArtefactError(spec.source, errorMessage(err));
  }
  const by = select.by ?? (pattern.hasDate ? 'date' : 'mtime');
  // A folder pattern (a dated mirror) is recognised by the files below it, at any depth.
  const listed = await reader.list(pattern.fixedPrefix, pattern.directory ? undefined : pattern.depth - pattern.fixedPrefix.split('/').length + 1);
  const base = refOf('');
  if (select.latest) {
    // A dated folder layout: the newest folder decides; a store missing from it is an error,
    // not a silent fall-back to an older night.
    const cut = patternText.replace(/\/$/, '').lastIndexOf('/');
    const folderPattern = cut > 0 ? patternText.slice(0, cut + 1) : undefined;
    if (by === 'date' && folderPattern && /\{date:/.test(folderPattern) && !pattern.directory) {
      const folders = candidates(compilePattern(folderPattern), listed, 'date');
      const newest = newestOrPrevious(folders, ctx.previous, `${base}${folderPattern}`);
      if (!newest) throw new ArtefactError(`${base}${patternText}`, `no dated folder matching ${folderPattern} under ${base}`, `found ${describeListing(listed)}`);
      const inFolder = candidates(pattern, listed.filter((e) => e.key.startsWith(newest.key)), by);
      const chosen = pickLatest(inFolder);
      if (!chosen) throw new ArtefactError(`${base}${patternText}`, `the newest dated folder ${newest.key} has no file matching ${patternText.slice(cut + 1)}`, 'the backup of this store is missing from the latest night; older folders are not used silently');
      return located(chosen.key, { method: 'latest', by, pattern: patternText, candidates: folders.length, chosen: chosen.key, reason: `newest of ${folders.length} dated folder(s) matching ${folderPattern} (${new Date(newest.time).toISOString().slice(0, 19)}Z)` });
    }
    const list = candidates(pattern, listed, by);
    const chosen = newestOrPrevious(list, ctx.previous, `${base}${patternText}`);
    if (!chosen) throw new ArtefactError(`${base}${patternText}`, `nothing matches ${patternText} under ${base}`, `found ${describeListing(listed)}`);
    return located(chosen.key, { method: 'latest', by, pattern: patternText, candidates: list.length, chosen: chosen.key, reason: `newest of ${list.length} match(es) by ${by === 'date' ? 'the date in the name' : 'modification time'} (${new Date(chosen.time).toISOString()})` });
  }
  const window = select['random-within']!;
  const since = Date.now() - parseDuration(window);
  const list = candidates(pattern, listed, by).filter((c) => c.time >= since);
  const seed = select.seed ?? ctx.runId;
  const chosen = pickRandom(list, seed);
  if (!chosen) throw new ArtefactError(`${base}${patternText}`, `nothing matching ${patternText} under ${base} is within ${window}`, `found ${describeListing(listed)}`);
  return located(chosen.key, { method: 'random', by, pattern: patternText, window, seed, candidates: list.length, chosen: chosen.key, reason: `picked with seed ${seed} among ${list.length} match(es) from the last ${window}` });
}

function describeListing(entries: SourceEntry[]): string {
  if (entries.length === 0) return 'nothing there';
  const names = [...new Set(entries.map((e) => e.key.split('/')[0]!))].sort();
  return `${names.slice(-5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
}
