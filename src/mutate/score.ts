import type { MutantRecord, MutationRecord } from '../report/types.ts';

/** spec.mutation as the drill writes it. */
export interface MutationSpec {
  minScore?: number;
  accept?: { mutant: string; why: string }[];
}

export const defaultMinScore = 0.9;

/** A mutant id pattern: `*` matches any characters (`/` and `:` included), everything else itself. */
export function mutantPattern(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The drill's `accept` rule a mutant id matches, if any. */
export function acceptRule(spec: MutationSpec | undefined): (id: string) => { mutant: string; why: string } | undefined {
  const rules = (spec?.accept ?? []).map((rule) => ({ ...rule, pattern: mutantPattern(rule.mutant) }));
  return (id) => rules.find((r) => r.pattern.test(id));
}

/**
 * The record of a mutant the drill accepts, which is not made (state or artefact): its damage is
 * declared out of scope, so re-running checks or restoring it would only cost time. None when the
 * drill does not accept it.
 */
export function acceptedNotMade(accept: ReturnType<typeof acceptRule>, mutant: Omit<MutantRecord, 'status' | 'durationMs'>): MutantRecord | undefined {
  const rule = accept(mutant.id);
  return rule ? { ...mutant, status: 'accepted', acceptedWhy: rule.why, notMade: true, durationMs: 0 } : undefined;
}

/**
 * A survivor the drill accepts on purpose becomes `accepted`, with the drill's reason. (A mutant
 * the drill accepts is never made: it arrives here accepted already, `notMade`.)
 */
export function applyAccepted(mutants: MutantRecord[], spec: MutationSpec | undefined): void {
  const accept = acceptRule(spec);
  for (const m of mutants) {
    if (m.status !== 'survived') continue;
    const rule = accept(m.id);
    if (rule) Object.assign(m, { status: 'accepted', acceptedWhy: rule.why });
  }
}

function ratio(killed: number, scored: number): number | null {
  return scored > 0 ? killed / scored : null;
}

/**
 * The score: killed / mutants that count. Accepted survivors (the drill says why) and mutants that
 * could not be made are left out of the denominator; every one of them is still listed.
 */
export function scoreMutants(mutants: MutantRecord[], spec: MutationSpec | undefined, stores: { name: string; note?: string; checksAfterUndo?: 'passed' | 'failed' }[], extra: { durationMs: number; stopped?: string }): MutationRecord {
  applyAccepted(mutants, spec);
  const tally = (list: MutantRecord[]) => {
    const killed = list.filter((m) => m.status === 'killed').length;
    const accepted = list.filter((m) => m.status === 'accepted').length;
    const notRun = list.filter((m) => m.status === 'not-run').length;
    return { killed, total: list.length, accepted, notRun, score: ratio(killed, list.length - accepted - notRun) };
  };
  const all = tally(mutants);
  const minScore = spec?.minScore ?? defaultMinScore;
  return {
    status: extra.stopped ? 'stopped' : 'scored',
    ...(extra.stopped ? { reason: extra.stopped } : {}),
    score: all.score,
    minScore,
    // A drill with nothing to score has proved nothing; a stopped run has not finished proving it.
    verdict: !extra.stopped && all.score !== null && all.score >= minScore ? 'passed' : 'failed',
    killed: all.killed,
    total: all.total,
    accepted: all.accepted,
    notRun: all.notRun,
    stores: stores.map(({ name, note, checksAfterUndo }) => {
      const { killed, total, accepted, score } = tally(mutants.filter((m) => m.store === name));
      return { name, killed, total, accepted, score, ...(note ? { note } : {}), ...(checksAfterUndo ? { checksAfterUndo } : {}) };
    }),
    mutants,
    durationMs: extra.durationMs,
  };
}

/** No score: the drill did not pass as it is, so nothing it catches or misses means anything yet. */
export function notScored(reason: string, spec: MutationSpec | undefined): MutationRecord {
  return { status: 'not-scored', reason, score: null, minScore: spec?.minScore ?? defaultMinScore, verdict: 'failed', killed: 0, total: 0, accepted: 0, notRun: 0, stores: [], mutants: [], durationMs: 0 };
}

/** "deleting 1 row of public.invoices was not noticed: add a baseline or count check on billing". */
export function survivorLine(m: MutantRecord): string {
  if (m.status !== 'accepted') return `${m.description} was not noticed: ${m.hint}`;
  return m.notMade ? `${m.description}: not made, accepted: ${m.acceptedWhy}` : `${m.description} was not noticed, accepted: ${m.acceptedWhy}`;
}

/** "14 of 16 (87.5%)", or why there is no score. */
export function scoreLine(record: MutationRecord): string {
  if (record.score === null) return record.reason ?? 'no mutants to score';
  const counted = record.total - record.accepted - record.notRun;
  const left = [record.accepted ? `${record.accepted} accepted` : '', record.notRun ? `${record.notRun} not run` : ''].filter(Boolean).join(', ');
  return `${record.killed} of ${counted} killed (${(record.score * 100).toFixed(1)}%, minimum ${(record.minScore * 100).toFixed(0)}%)${left ? `; ${left}, left out of the score` : ''}`;
}

/** "this drill catches 18 of 20 kinds of damage". */
export function catchesLine(m: MutationRecord): string {
  return m.score === null ? 'no score' : `this drill catches ${m.killed} of ${m.total - m.accepted - m.notRun} kinds of damage`;
}
