import assert from 'node:assert/strict';
import { compareContent, damagedName } from '../../src/checks/compare-content.ts';
import type { CheckOutcome } from '../../src/checks/types.ts';
import type { BaselineDatabase } from '../../src/drill/baseline.ts';

// The digests a restored database gives: `restored` holds what each table's read returns.
function digests(restored: Record<string, string>) {
  const read: string[] = [];
  return { read, digest: async (name: string) => (read.push(name), restored[name]!) };
}

const baseline: BaselineDatabase = {
  tables: { 'public.a': 2, 'public.b': 3, 'public.c': 4 },
  schema: { sha256: 'x', objects: [] },
  digests: { 'public.a': 'sha256:a', 'public.b': 'sha256:b', 'public.c': 'sha256:c' },
};
const countsPassed: CheckOutcome = { passed: true, expected: '3 tables with the expected counts', actual: {}, message: '3 tables match' };
const countsFailed: CheckOutcome = { passed: false, expected: '3 tables with the expected counts', actual: {}, message: 'public.b: 2 restored, expected 3' };
const options = { wanted: undefined, file: 'baseline.json', unit: 'tables' };

describe('compareContent: a baseline check told which table a mutant damaged stops at the first mismatch; untold, it compares everything', () => {
  it('untold (a plain run): reads every table and names every difference', async () => {
    const { read, digest } = digests({ 'public.a': 'sha256:A', 'public.b': 'sha256:b', 'public.c': 'sha256:C' });
    const outcome = await compareContent(countsPassed, baseline, baseline.tables, { ...options, digest });
    assert.deepEqual(read, ['public.a', 'public.b', 'public.c']);
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /public\.a: content differs.*public\.c: content differs/);
  });

  it('untold, counts already failing: still reads the tables whose counts match and adds their differences', async () => {
    const { read, digest } = digests({ 'public.a': 'sha256:A', 'public.c': 'sha256:c' });
    const outcome = await compareContent(countsFailed, baseline, { ...baseline.tables, 'public.b': 2 }, { ...options, digest });
    assert.deepEqual(read, ['public.a', 'public.c']);
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /public\.b: 2 restored.*; public\.a: content differs/);
  });

  it('told: reads the damaged table first and fails on its difference without reading the rest', async () => {
    const { read, digest } = digests({ 'public.a': 'sha256:a', 'public.b': 'sha256:b', 'public.c': 'sha256:C' });
    const outcome = await compareContent(countsPassed, baseline, baseline.tables, { ...options, digest, damaged: 'app/public.c', database: 'app' });
    assert.deepEqual(read, ['public.c']);
    assert.equal(outcome.passed, false);
    assert.match(outcome.message, /public\.c: content differs/);
  });

  it('told, counts already failing: fails as the counts say, reading no digest', async () => {
    const { read, digest } = digests({});
    const outcome = await compareContent(countsFailed, baseline, { ...baseline.tables, 'public.b': 2 }, { ...options, digest, damaged: 'app/public.b', database: 'app' });
    assert.deepEqual(read, []);
    assert.equal(outcome.passed, false);
    assert.equal(outcome.message, countsFailed.message);
  });

  it('told, the damaged table intact: goes on through every other table, fails on a difference elsewhere and passes only when all are equal', async () => {
    const elsewhere = digests({ 'public.a': 'sha256:A', 'public.b': 'sha256:b', 'public.c': 'sha256:c' });
    const failed = await compareContent(countsPassed, baseline, baseline.tables, { ...options, digest: elsewhere.digest, damaged: 'app/public.b/some_index', database: 'app' });
    assert.deepEqual(elsewhere.read, ['public.b', 'public.a']);
    assert.equal(failed.passed, false);
    const intact = digests({ 'public.a': 'sha256:a', 'public.b': 'sha256:b', 'public.c': 'sha256:c' });
    const passed = await compareContent(countsPassed, baseline, baseline.tables, { ...options, digest: intact.digest, damaged: 'app/public.b', database: 'app' });
    assert.deepEqual(intact.read, ['public.b', 'public.a', 'public.c']);
    assert.equal(passed.passed, true);
  });

  it('damagedName: the longest baseline name the target names within the check database, none for another database', () => {
    assert.equal(damagedName('app/public.b/some_index', 'app', ['public.a', 'public.b']), 'public.b');
    assert.equal(damagedName('app/dir/part', 'app', ['dir', 'dir/part']), 'dir/part');
    assert.equal(damagedName('other/public.b', 'app', ['public.b']), undefined);
    assert.equal(damagedName(undefined, 'app', ['public.b']), undefined);
  });
});
