import type { RunReport } from './types.ts';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // XML 1.0 forbids most control characters, which tool stderr can contain.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
const secs = (ms: number) => (ms / 1000).toFixed(3);

/** JUnit XML: one testcase per check, plus a suite of restore steps so CI shows a failed restore too. */
export function renderJUnit(report: RunReport): string {
  const checks = report.checks;
  const failures = checks.filter((c) => c.status === 'failed').length;
  const skipped = checks.filter((c) => c.status === 'skipped').length;
  const steps = report.stores.flatMap((s) => s.steps.map((step) => ({ store: s.name, step })));
  const stepFailures = steps.filter((s) => s.step.status === 'failed').length;
  // JUnit's <error> is a test that could not run: a drill stopped before its checks by a config
  // error, or by the environment (could-not-run), whose checks are then all skipped.
  const drillError = report.errors.length > 0 && (checks.length === 0 || report.status === 'could-not-run');
  const props = [
    ['runId', report.runId],
    ['status', report.status],
    ['drill.sha256', report.drill.sha256 ?? ''],
    ['runtime', report.runtime],
    ['tool.version', report.tool.version],
  ];
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="restoreproof ${esc(report.drill.name)}" tests="${checks.length + steps.length}" failures="${failures + stepFailures}" errors="${drillError ? 1 : 0}" skipped="${skipped}" time="${secs(report.durationMs)}">`,
    `  <testsuite name="${esc(report.drill.name)}.checks" tests="${checks.length}" failures="${failures}" errors="${drillError ? 1 : 0}" skipped="${skipped}" time="${secs(checks.reduce((t, c) => t + c.durationMs, 0))}" timestamp="${report.startedAt}">`,
    '    <properties>',
    ...props.map(([k, v]) => `      <property name="${esc(k!)}" value="${esc(v!)}"/>`),
    '    </properties>',
  ];
  for (const c of checks) {
    const open = `    <testcase classname="${esc(`${report.drill.name}.${c.store}`)}" name="${esc(`${c.id}: ${c.name}`)}" time="${secs(c.durationMs)}">`;
    const body = `expected: ${c.expected}\nactual: ${JSON.stringify(c.actual)}\n${c.message}`;
    if (c.status === 'failed') lines.push(open, `      <failure message="${esc(c.message.split('\n')[0]!)}" type="${c.type}">${esc(body)}</failure>`, '    </testcase>');
    else if (c.status === 'skipped') lines.push(open, `      <skipped message="${esc(c.message)}"/>`, '    </testcase>');
    else if (c.status === 'warned') lines.push(open, `      <system-out>${esc(`WARNING: ${body}`)}</system-out>`, '    </testcase>');
    else lines.push(open.replace(/>$/, '/>'));
  }
  if (drillError) {
    lines.push(`    <testcase classname="${esc(report.drill.name)}" name="drill">`, `      <error message="${esc(report.errors[0]!.message)}">${esc(report.errors.map((e) => e.message).join('\n'))}</error>`, '    </testcase>');
  }
  lines.push('  </testsuite>');
  if (steps.length) {
    lines.push(`  <testsuite name="${esc(report.drill.name)}.restore" tests="${steps.length}" failures="${stepFailures}" errors="0" skipped="${steps.filter((s) => s.step.status === 'skipped').length}" time="${secs(steps.reduce((t, s) => t + s.step.durationMs, 0))}">`);
    for (const { store, step } of steps) {
      const open = `    <testcase classname="${esc(`${report.drill.name}.${store}`)}" name="${esc(`restore ${step.artefact}`)}" time="${secs(step.durationMs)}">`;
      if (step.status === 'failed') lines.push(open, `      <failure message="${esc(step.error ?? 'restore failed')}" type="restore">${esc(step.stderr)}</failure>`, '    </testcase>');
      else if (step.status === 'skipped') lines.push(open, '      <skipped/>', '    </testcase>');
      else lines.push(open.replace(/>$/, '/>'));
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}
