import type { BaselineDatabase } from '../drill/baseline.ts';
import type { CheckOutcome } from './types.ts';

/**
 * Adds the content digests of a baseline to a baseline check's count outcome. `wanted` is the check's
 * `content`: false skips, true fails on a baseline without digests, unset compares when it has them.
 * Only a table whose restored count equals the baseline's is read (one streaming pass each): one whose
 * count differs is reported by the counts, and within a tolerance its content cannot be equal.
 */
export async function compareContent(
  outcome: CheckOutcome,
  baseline: BaselineDatabase,
  restored: Record<string, number>,
  options: { wanted: boolean | undefined; file: string; unit: string; digest: (name: string) => Promise<string> },
): Promise<CheckOutcome> {
  if (options.wanted === false) return outcome;
  const expected = baseline.digests;
  if (!expected) {
    if (!options.wanted) return outcome;
    const problem = `${options.file} holds no content digests: capture it again with restoreproof baseline capture --content`;
    return { ...outcome, passed: false, warn: false, message: outcome.passed ? problem : `${outcome.message}; ${problem}` };
  }
  const compared: string[] = [];
  const notCompared: string[] = [];
  const differs: { name: string; rows: number }[] = [];
  for (const name of Object.keys(expected).sort()) {
    const rows = restored[name];
    if (rows === undefined || rows !== baseline.tables[name]) {
      notCompared.push(name);
      continue;
    }
    compared.push(name);
    if ((await options.digest(name)) !== expected[name]) differs.push({ name, rows });
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
