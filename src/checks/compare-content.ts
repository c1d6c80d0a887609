import type { BaselineDatabase } from '../drill/baseline.ts';
import type { CheckOutcome } from './types.ts';

/** The table or collection of `names` that a state mutant's target (`<database>/<name>`, maybe `/<more>`) names in `database`. */
export function damagedName(damaged: string | undefined, database: string, names: Iterable<string>): string | undefined {
  if (damaged === undefined || !damaged.startsWith(`${database}/`)) return undefined;
  const rest = damaged.slice(database.length + 1);
  // The longest name that matches: a name may itself hold a slash.
  return [...names].filter((n) => rest === n || rest.startsWith(`${n}/`)).sort((a, b) => b.length - a.length)[0];
}

/**
 * Adds the content digests of a baseline to a baseline check's count outcome. `wanted` is the check's
 * `content`: false skips, true fails on a baseline without digests, unset compares when it has them.
 * Only a table whose restored count equals the baseline's is read (one streaming pass each): one whose
 * count differs is reported by the counts, and within a tolerance its content cannot be equal.
 * `damaged` (a re-run under `restoreproof mutate`: the mutant's target, `CheckContext.damaged`)
 * stops at the first mismatch: counts that already fail are the outcome, and the damaged table is
 * read first. Without it every table is compared, and every difference reported.
 */
export async function compareContent(
  outcome: CheckOutcome,
  baseline: BaselineDatabase,
  restored: Record<string, number>,
  options: { wanted: boolean | undefined; file: string; unit: string; digest: (name: string) => Promise<string>; damaged?: string | undefined; database?: string },
): Promise<CheckOutcome> {
  if (options.wanted === false) return outcome;
  const expected = baseline.digests;
  if (!expected) {
    if (!options.wanted) return outcome;
    const problem = `${options.file} holds no content digests: capture it again with restoreproof baseline capture --content`;
    return { ...outcome, passed: false, warn: false, message: outcome.passed ? problem : `${outcome.message}; ${problem}` };
  }
  const firstMismatchEnds = options.damaged !== undefined;
  // The check has failed already; its digests would only add to the message.
  if (firstMismatchEnds && !outcome.passed) return outcome;
  const first = damagedName(options.damaged, options.database ?? '', Object.keys(expected));
  const compared: string[] = [];
  const notCompared: string[] = [];
  const differs: { name: string; rows: number }[] = [];
  const names = Object.keys(expected).sort();
  for (const name of first ? [first, ...names.filter((n) => n !== first)] : names) {
    const rows = restored[name];
    if (rows === undefined || rows !== baseline.tables[name]) {
      notCompared.push(name);
      continue;
    }
    compared.push(name);
    if ((await options.digest(name)) !== expected[name]) differs.push({ name, rows });
    if (firstMismatchEnds && differs.length) break;
  }
  const problems = differs.map((d) => `${d.name}: content differs from the baseline (rows ${d.rows} = ${d.rows})`);
  const passed = outcome.passed && differs.length === 0;
  let message = outcome.message;
  if (problems.length) message = (outcome.passed ? '' : `${outcome.message}; `) + problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; … ${problems.length - 10} more` : '');
  else if (outcome.passed) message = `${outcome.message}, content of ${compared.length} ${options.unit} identical`;
  const actual = outcome.actual !== null && typeof outcome.actual === 'object' ? outcome.actual : { counts: outcome.actual };
  return {
    ...outcome,
    passed,
    warn: passed && outcome.warn,
    expected: `${outcome.expected}, content digests equal`,
    actual: { ...actual, content: { compared: compared.length, differs: differs.map((d) => d.name), notCompared } },
    message,
  };
}
