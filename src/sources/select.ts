import { createHash } from 'node:crypto';
import type { ArtefactSelectSpec } from '../drill/types.ts';
import type { SourceEntry } from './reader.ts';

/** How the artefact was chosen, for the evidence. */
export interface Selection {
  method: 'explicit' | 'latest' | 'random';
  by?: 'date' | 'mtime';
  pattern?: string;
  window?: string;
  seed?: string;
  candidates?: number;
  /** The chosen key, relative to the source. */
  chosen: string;
  reason: string;
}

export interface CompiledPattern {
  regex: RegExp;
  hasDate: boolean;
  /** The literal part before the first placeholder or wildcard: where listing can start. */
  fixedPrefix: string;
  /** How many path segments a match has. */
  depth: number;
  /** The pattern names a folder (ends with /): matches are key prefixes. */
  directory: boolean;
  dateOf(match: RegExpExecArray): number | undefined;
}

const tokens: Record<string, string> = { YYYY: '\\d{4}', MM: '\\d{2}', DD: '\\d{2}', HH: '\\d{2}', mm: '\\d{2}', ss: '\\d{2}' };
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * `{date:YYYY-MM-DD}` captures a date (tokens YYYY MM DD HH mm ss, anything else literal), a later
 * `{date}` must repeat the same text, `*` is any run of characters other than `/`.
 */
export function compilePattern(pattern: string): CompiledPattern {
  let regex = '^';
  let format: string | undefined;
  let i = 0;
  let fixedEnd = -1;
  while (i < pattern.length) {
    const rest = pattern.slice(i);
    const placeholder = /^\{date(?::([^}]+))?\}/.exec(rest);
    if (placeholder) {
      if (fixedEnd < 0) fixedEnd = i;
      if (placeholder[1]) {
        if (format) throw new Error(`pattern ${pattern}: only one {date:FORMAT}; repeat it as {date}`);
        format = placeholder[1];
        regex += `(?<date>${format.split(/(YYYY|MM|DD|HH|mm|ss)/).map((part) => tokens[part] ?? escape(part)).join('')})`;
      } else {
        if (!format) throw new Error(`pattern ${pattern}: {date} before {date:FORMAT}`);
        regex += '\\k<date>';
      }
      i += placeholder[0].length;
    } else if (rest[0] === '*') {
      if (fixedEnd < 0) fixedEnd = i;
      regex += '[^/]*';
      i++;
    } else {
      regex += escape(rest[0]!);
      i++;
    }
  }
  const directory = pattern.endsWith('/');
  const fixed = fixedEnd < 0 ? pattern : pattern.slice(0, fixedEnd);
  const fixedPrefix = fixed.includes('/') ? fixed.slice(0, fixed.lastIndexOf('/') + 1) : '';
  const fmt = format;
  return {
    regex: new RegExp(`${regex}$`),
    hasDate: fmt !== undefined,
    fixedPrefix,
    depth: pattern.replace(/\/$/, '').split('/').length,
    directory,
    dateOf(match) {
      const text = match.groups?.date;
      if (!fmt || text === undefined) return undefined;
      return parseDated(fmt, text);
    },
  };
}

function parseDated(format: string, text: string): number | undefined {
  const parts: Record<string, number> = { YYYY: 1970, MM: 1, DD: 1, HH: 0, mm: 0, ss: 0 };
  let at = 0;
  for (const piece of format.split(/(YYYY|MM|DD|HH|mm|ss)/)) {
    if (!piece) continue;
    if (piece in tokens) {
      parts[piece] = Number(text.slice(at, at + piece.length));
      at += piece.length;
    } else at += piece.length;
  }
  const t = Date.UTC(parts.YYYY!, parts.MM! - 1, parts.DD!, parts.HH!, parts.mm!, parts.ss!);
  return Number.isNaN(t) ? undefined : t;
}

export interface Candidate {
  key: string;
  time: number;
  timeSource: 'date' | 'mtime';
  entry?: SourceEntry;
}

/** Files matching the pattern, or for a folder pattern (ending in /) the folders. */
export function candidates(pattern: CompiledPattern, entries: SourceEntry[], by: 'date' | 'mtime'): Candidate[] {
  const found = new Map<string, Candidate>();
  for (const entry of entries) {
    const keys = pattern.directory ? ancestors(entry.key) : [entry.key];
    for (const key of keys) {
      const m = pattern.regex.exec(key);
      if (!m) continue;
      const date = by === 'date' ? pattern.dateOf(m) : undefined;
      const time = date ?? entry.mtimeMs;
      const prev = found.get(key);
      if (!prev) found.set(key, { key, time, timeSource: date !== undefined ? 'date' : 'mtime', ...(pattern.directory ? {} : { entry }) });
      else if (date === undefined && time > prev.time) prev.time = time;
    }
  }
  return [...found.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function ancestors(key: string): string[] {
  const parts = key.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(`${parts.slice(0, i).join('/')}/`);
  return out;
}

export function pickLatest(list: Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of list) if (!best || c.time > best.time || (c.time === best.time && c.key > best.key)) best = c;
  return best;
}

/** Deterministic for a seed and a candidate set: the same seed picks the same artefact again. */
export function pickRandom(list: Candidate[], seed: string): Candidate | undefined {
  if (list.length === 0) return undefined;
  const n = BigInt(`0x${createHash('sha256').update(seed).digest('hex').slice(0, 15)}`);
  return list[Number(n % BigInt(list.length))];
}

export function describeSelect(select: ArtefactSelectSpec | undefined): string {
  if (!select) return 'the source itself';
  if (select.explicit) return `explicit ${select.explicit}`;
  if (select.latest) return `latest ${select.latest}`;
  return `random within ${select['random-within']} of ${select.pattern}`;
}
