import assert from 'node:assert/strict';
import { scoreLine, survivorLine } from '../../src/mutate/score.ts';
import type { MutationRecord, RunReport } from '../../src/report/types.ts';

/**
 * A reference drill's mutation run: prints its score and every mutant it did not kill (survived,
 * accepted with the drill's reason, or not run with why), then asserts the score reached the minimum.
 */
export function assertMutationPassed(drill: string, report: RunReport): MutationRecord {
  const mutation = report.mutation;
  assert.ok(mutation, `${drill}: the run has no mutation record`);
  console.log(`      ${drill} mutation score: ${scoreLine(mutation)}`);
  for (const m of mutation.mutants.filter((x) => x.status !== 'killed')) console.log(`        ${m.status} ${m.id}: ${m.status === 'not-run' ? m.error : survivorLine(m)}`);
  assert.equal(mutation.verdict, 'passed', `${drill}: ${scoreLine(mutation)}`);
  return mutation;
}
