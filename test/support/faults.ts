// The fault suite's tally (issue 14): every test in test/faults/ records what it injected, and one
// table (fault class | injected | leftovers | clear errors) is printed once, after the whole mocha run.
//
// Use, in a test under test/faults/:
//   import { recordFault, clearErrorProblems } from '../support/faults.ts';
//   const result = await runCli([...], { killAfterMs: 60_000 });   // test/support/fixtures.ts
//   const problems = clearErrorProblems(result, { exitCodes: [2], located: /drill\.yaml:\d+:\d+/ });
//   recordFault('hostile drill', { clearError: problems.length === 0, leftovers: 0 });
//   assert.deepEqual(problems, []);                  // record first, so a failure still shows in the table
// `leftovers` is what the fault left behind (processes, containers, dirs...), counted by the test.
// A fault that is not expected to produce an error (e.g. a reaper sweep) records clearError: true
// when it met its bar. The table is also written as JSON to $RESTOREPROOF_FAULT_TALLY when it is set.
import { writeFileSync } from 'node:fs';

export interface FaultOutcome {
  /** The run ended with a clear error: expected exit code, located message, no stack trace. */
  clearError: boolean;
  /** Resources the fault left behind; 0 when none (the default). */
  leftovers?: number;
  /** Faults this record stands for (default 1). */
  injected?: number;
}

interface Row {
  injected: number;
  leftovers: number;
  clearErrors: number;
}

const rows = new Map<string, Row>();

export function recordFault(kind: string, outcome: FaultOutcome): void {
  const row = rows.get(kind) ?? { injected: 0, leftovers: 0, clearErrors: 0 };
  const injected = outcome.injected ?? 1;
  row.injected += injected;
  row.leftovers += outcome.leftovers ?? 0;
  if (outcome.clearError) row.clearErrors += injected;
  rows.set(kind, row);
}

export interface CliResult {
  /** Exit code, or null when killed (e.g. as hung). */
  code: number | null;
  stderr: string;
  stdout?: string;
  hung?: boolean;
}

// A V8 stack frame ("    at fn (file:1:2)") or a Node internal path means a stack reached the user.
const stackTrace = /^\s+at .+(:\d+:\d+\)?|<anonymous>|native)$|node:internal\//m;

/** What keeps `result` from being a clear error; empty when it is one. */
export function clearErrorProblems(result: CliResult, expected: { exitCodes: number[]; located: RegExp | string }): string[] {
  const problems: string[] = [];
  const output = `${result.stderr}\n${result.stdout ?? ''}`;
  if (result.hung) problems.push('hung: killed before it exited');
  if (result.code === null || !expected.exitCodes.includes(result.code)) problems.push(`exit ${result.code ?? 'none (killed)'}, expected ${expected.exitCodes.join(' or ')}`);
  const located = typeof expected.located === 'string' ? output.includes(expected.located) : expected.located.test(output);
  if (!located) problems.push(`no located message (${expected.located}) in: ${result.stderr.slice(0, 400)}`);
  if (stackTrace.test(output)) problems.push(`a stack trace reached the user: ${output.match(stackTrace)?.[0].trim()}`);
  return problems;
}

export function faultTable(): string {
  const header = ['fault', 'injected', 'leftovers', 'clear errors'];
  const body = [...rows].map(([kind, r]) => [kind, String(r.injected), String(r.leftovers), `${r.clearErrors}/${r.injected}`]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

// A root-level after-all (registered once, by the first suite that imports this module): mocha runs
// it at the very end of the run, whichever fault suites ran.
after(function printFaultTable() {
  if (rows.size === 0) return;
  console.log(`\nfault suite (issue 14):\n${faultTable()}\n`);
  const file = process.env.RESTOREPROOF_FAULT_TALLY;
  if (file) writeFileSync(file, `${JSON.stringify(Object.fromEntries(rows), null, 2)}\n`);
});
