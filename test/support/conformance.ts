// The conformance suite's drills and what each must come to, shared by the runtimes' suites
// (test/conformance for local and containers, test/kubernetes for the cluster).
import assert from 'node:assert/strict';
import type { RunReport } from '../../src/report/types.ts';

/** What a drill must come to, whatever the runtime. */
export interface Outcome {
  status: RunReport['status'];
  exitCode: number;
  stores: Record<string, string>;
  checks: Record<string, string>;
}

export const outcomeOf = (r: RunReport): Outcome => ({
  status: r.status,
  exitCode: r.exitCode,
  stores: Object.fromEntries(r.stores.map((s) => [s.name, s.status])),
  checks: Object.fromEntries(r.checks.map((c) => [c.id, c.status])),
});

/** The drills every runtime must agree on (fixtures: RESTOREPROOF_FIXTURES, RESTOREPROOF_PLATFORM). */
export const conformanceDrills: { file: string; expect: (o: Outcome, r: RunReport) => void }[] = [
  {
    file: 'shop.yaml',
    expect: (o) => {
      assert.equal(o.status, 'passed');
      assert.deepEqual(o.checks, { customers: 'passed', events: 'passed', 'shop-baseline': 'passed', 'shop-schema': 'passed' });
    },
  },
  {
    file: 'platform.yaml',
    expect: (o, r) => {
      assert.equal(o.status, 'passed', JSON.stringify(r.errors));
      assert.deepEqual(o.stores, { mongo: 'passed', db: 'passed', bucket: 'passed', sessions: 'passed' });
      assert.equal(Object.values(o.checks).filter((s) => s === 'passed').length, 14);
    },
  },
  {
    file: 'count-fails.yaml',
    expect: (o) => {
      assert.equal(o.exitCode, 1);
      assert.deepEqual(o.checks, { 'customers-ok': 'passed', 'too-many-customers': 'failed' });
    },
  },
  {
    file: 'truncated.yaml',
    expect: (o, r) => {
      assert.equal(o.exitCode, 1);
      assert.deepEqual(o.stores, { app: 'failed' });
      assert.deepEqual(Object.values(o.checks), ['skipped']);
      assert.match(r.stores[0]!.steps[0]!.error ?? '', /pg_restore/);
    },
  },
];
