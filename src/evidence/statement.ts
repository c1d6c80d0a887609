import type { RunReport } from '../report/types.ts';

/** in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md). */
export const statementType = 'https://in-toto.io/Statement/v1';
/** The vetted test-result predicate: the drill is the test suite, its checks and restores the tests. */
export const testResultPredicateType = 'https://in-toto.io/attestation/test-result/v0.1';
/** A reviewer's sign-off on one run: restoreproof's own predicate. */
export const reviewPredicateType = 'https://restoreproof.dev/attestation/review/v1';

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest: Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface Statement<P = unknown> {
  _type: typeof statementType;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: P;
}

export interface TestResultPredicate {
  result: 'PASSED' | 'WARNED' | 'FAILED';
  configuration: ResourceDescriptor[];
  url?: string;
  passedTests: string[];
  warnedTests: string[];
  failedTests: string[];
}

export interface ReviewPredicate {
  runId: string;
  drill: string;
  /** The run's verdict as the reviewer saw it. */
  result: string;
  reviewer: string;
  reviewedAt: string;
  correctiveActions: string[];
  ticket?: string;
  comment?: string;
}

/** Report files are named relative to the report dir; they sit beside the envelope. */
export function runStatement(report: RunReport, files: readonly { name: string; sha256: string; kind: string }[]): Statement<TestResultPredicate> {
  const artefacts = new Map<string, ResourceDescriptor>();
  for (const a of report.artefacts) {
    artefacts.set(`${a.path}\0${a.sha256}`, { name: a.path, digest: { sha256: a.sha256 }, annotations: { kind: 'backup-artefact', store: a.store, step: a.step, ...(a.backupTime ? { backupTime: a.backupTime } : {}) } });
  }
  const tests = { passedTests: [] as string[], warnedTests: [] as string[], failedTests: [] as string[] };
  for (const store of report.stores) {
    for (const step of store.steps) {
      const name = `restore ${store.name}[${step.step}] ${step.artefact}`;
      if (step.status === 'passed') tests.passedTests.push(name);
      else if (step.status === 'failed') tests.failedTests.push(name);
    }
  }
  for (const check of report.checks) {
    if (check.status === 'passed') tests.passedTests.push(check.id);
    else if (check.status === 'warned') tests.warnedTests.push(check.id);
    else if (check.status === 'failed') tests.failedTests.push(check.id);
  }
  const status = report.result?.status ?? (report.status === 'passed' || report.status === 'warned' ? report.status : 'failed');
  return {
    _type: statementType,
    subject: [...files.map((f) => ({ name: f.name, digest: { sha256: f.sha256 }, annotations: { kind: f.kind, runId: report.runId } })), ...artefacts.values()],
    predicateType: testResultPredicateType,
    predicate: {
      result: status === 'passed' ? 'PASSED' : status === 'warned' ? 'WARNED' : 'FAILED',
      configuration: [
        ...(report.drill.sha256 ? [{ name: report.drill.file, digest: { sha256: report.drill.sha256 }, annotations: { kind: 'drill' } }] : []),
        ...report.drill.includes.map((i) => ({ name: i.path, digest: { sha256: i.sha256 }, annotations: { kind: 'include' } })),
      ],
      ...(report.trigger.jobUrl ? { url: report.trigger.jobUrl } : {}),
      ...tests,
    },
  };
}

export function reviewStatement(reportFile: { name: string; sha256: string }, predicate: ReviewPredicate): Statement<ReviewPredicate> {
  return { _type: statementType, subject: [{ name: reportFile.name, digest: { sha256: reportFile.sha256 }, annotations: { kind: 'report', runId: predicate.runId } }], predicateType: reviewPredicateType, predicate };
}
