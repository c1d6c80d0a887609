import assert from 'node:assert/strict';
import { catchesLine, mutantPattern, notScored, scoreLine, scoreMutants, survivorLine } from '../../src/mutate/score.ts';
import { renderMarkdown } from '../../src/report/markdown.ts';
import type { MutantRecord, RunReport } from '../../src/report/types.ts';

const mutant = (id: string, status: MutantRecord['status'], store = 'billing'): MutantRecord => ({
  id, kind: id.split(':')[0]!, store, target: id.split(':')[1]!, description: `damaging ${id}`, hint: `add a check on ${store}`, status, ...(status === 'killed' ? { killedBy: 'counts' } : {}), durationMs: 1,
});

describe('mutation score', () => {
  it('a glob matches any characters, ids and separators included; the rest is literal', () => {
    assert.ok(mutantPattern('age-timestamps:*').test('age-timestamps:billing/public.invoices'));
    assert.ok(mutantPattern('delete-row:billing/public.invoices').test('delete-row:billing/public.invoices'));
    assert.ok(!mutantPattern('delete-row:billing/public.invoices').test('delete-row:billing/publicXinvoices'));
    assert.ok(!mutantPattern('drop-index:*').test('delete-row:x'));
  });

  it('accepted survivors and mutants not run leave the denominator; a killed mutant stays killed even if accepted', () => {
    const record = scoreMutants(
      [mutant('delete-row:billing/a', 'killed'), mutant('delete-row:billing/b', 'survived'), mutant('age-timestamps:billing/a', 'survived'), mutant('age-timestamps:billing/b', 'killed'), mutant('drop-index:cache/x', 'not-run', 'cache'), mutant('truncate:cache/restore[0]', 'killed', 'cache')],
      { minScore: 0.7, accept: [{ mutant: 'age-timestamps:*', why: 'frozen archive' }] },
      [{ name: 'billing' }, { name: 'cache', note: 'no state mutants' }],
      { durationMs: 5 },
    );
    assert.deepEqual([record.killed, record.total, record.accepted, record.notRun], [3, 6, 1, 1]);
    assert.equal(record.score, 3 / 4);
    assert.equal(record.verdict, 'passed');
    assert.deepEqual(record.mutants.filter((m) => m.status === 'accepted').map((m) => [m.id, m.acceptedWhy]), [['age-timestamps:billing/a', 'frozen archive']]);
    assert.deepEqual(record.stores, [{ name: 'billing', killed: 2, total: 4, accepted: 1, score: 2 / 3 }, { name: 'cache', killed: 1, total: 2, accepted: 0, score: 1 / 1, note: 'no state mutants' }]);
    assert.equal(scoreLine(record), '3 of 4 killed (75.0%, minimum 70%); 1 accepted, 1 not run, left out of the score');
    assert.equal(catchesLine(record), 'this drill catches 3 of 4 kinds of damage');
    assert.equal(survivorLine(record.mutants[1]!), 'damaging delete-row:billing/b was not noticed: add a check on billing');
    assert.equal(survivorLine(record.mutants[2]!), 'damaging age-timestamps:billing/a was not noticed, accepted: frozen archive');
    assert.equal(survivorLine({ ...record.mutants[2]!, notMade: true }), 'damaging age-timestamps:billing/a: not made, accepted: frozen archive');
  });

  it('fails below the default minimum, with nothing to score, and when mutation stopped', () => {
    assert.equal(scoreMutants([mutant('a:b', 'killed'), mutant('a:c', 'survived')], undefined, [], { durationMs: 0 }).verdict, 'failed');
    assert.equal(scoreMutants([], undefined, [], { durationMs: 0 }).verdict, 'failed');
    const stopped = scoreMutants([mutant('a:b', 'killed')], undefined, [], { durationMs: 0, stopped: 'undo failed' });
    assert.deepEqual([stopped.status, stopped.verdict, stopped.reason], ['stopped', 'failed', 'undo failed']);
    const none = notScored('no mutation score: the drill fails', { minScore: 0.5 });
    assert.deepEqual([none.status, none.score, none.minScore, none.verdict], ['not-scored', null, 0.5, 'failed']);
  });

  it('the Markdown summary shows the score and names each survivor with its hint', () => {
    const mutation = scoreMutants([mutant('delete-row:billing/public.invoices', 'survived'), mutant('drop-relation:billing/public.invoices', 'killed')], undefined, [{ name: 'billing' }], { durationMs: 0 });
    const report = { drill: { name: 'weak', controls: [] }, status: 'failed', runId: 'r', runtime: 'local', durationMs: 1, startedAt: 't', summary: { checks: { total: 0, passed: 0, failed: 0, warned: 0, skipped: 0 } }, errors: [], checks: [], objectives: {}, stores: [], artefacts: [], reports: {}, teardown: { status: 'completed', completedAt: 't', resources: [] }, tool: { version: '0' }, mutation } as unknown as RunReport;
    const md = renderMarkdown(report);
    assert.match(md, /### Mutation score\n\n❌ this drill catches 1 of 2 kinds of damage: 1 of 2 killed \(50\.0%, minimum 90%\)\./);
    assert.match(md, /- `delete-row:billing\/public.invoices`: damaging delete-row:billing\/public.invoices was not noticed: add a check on billing/);
  });
});
