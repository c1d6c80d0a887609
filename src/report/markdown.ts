import { formatDuration } from '../util/duration.ts';
import { catchesLine, scoreLine, survivorLine } from '../mutate/score.ts';
import type { RunReport } from './types.ts';

const icon: Record<string, string> = { passed: '✅', warned: '⚠️', failed: '❌', skipped: '⏭️', error: '⛔', 'could-not-run': '🔌', aborted: '🛑' };
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');

/** A summary fit for $GITHUB_STEP_SUMMARY or a GitLab job summary. */
export function renderMarkdown(report: RunReport): string {
  const c = report.summary.checks;
  const out = [
    `## ${icon[report.status] ?? ''} Restore drill \`${report.drill.name}\`: ${report.status.toUpperCase()}`,
    '',
    `Run \`${report.runId}\` on runtime \`${report.runtime}\`, ${formatDuration(report.durationMs)}, ${report.startedAt}. ` +
      `Checks: ${c.passed} passed, ${c.failed} failed, ${c.warned} warned, ${c.skipped} skipped.`,
    '',
  ];
  if (report.errors.length) {
    out.push('### Errors', '');
    for (const e of report.errors) out.push(`- \`${e.code}\` ${e.file ? `${[e.file, e.line, e.col].filter(Boolean).join(':')}: ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}${e.hint ? ` — ${e.hint}` : ''}`);
    out.push('');
  }
  if (report.checks.length) {
    out.push('### Checks', '', '| result | check | expected | actual | message |', '|---|---|---|---|---|');
    for (const k of report.checks) {
      out.push(`| ${icon[k.status]} ${k.status} | ${cell(`${k.id}: ${k.name}`)} | ${cell(k.expected)} | ${cell(typeof k.actual === 'object' ? JSON.stringify(k.actual) ?? '' : String(k.actual))} | ${cell(k.message.split('\n')[0] ?? '')} |`);
    }
    out.push('');
  }
  if (report.mutation) {
    const m = report.mutation;
    out.push('### Mutation score', '', m.score === null ? (m.reason ?? 'no score') : `${icon[m.verdict]} ${catchesLine(m)}: ${scoreLine(m)}.`, '');
    if (m.status === 'stopped' && m.reason) out.push(`Stopped: ${m.reason}`, '');
    if (m.stores.length) {
      out.push('| store | killed | scored | accepted | score |', '|---|---|---|---|---|');
      for (const s of m.stores) out.push(`| ${cell(s.name)} | ${s.killed} | ${s.total - s.accepted} | ${s.accepted} | ${s.score === null ? '—' : `${(s.score * 100).toFixed(1)}%`}${s.note ? ` (${cell(s.note)})` : ''} |`);
      out.push('');
    }
    const survivors = m.mutants.filter((x) => x.status === 'survived' || x.status === 'accepted');
    if (survivors.length) {
      out.push('Survivors:', '');
      for (const x of survivors) out.push(`- \`${x.id}\`: ${survivorLine(x)}`);
      out.push('');
    }
  }
  const objectives = Object.entries(report.objectives);
  if (objectives.length) {
    out.push('### Objectives', '', '| result | objective | target | measured | basis |', '|---|---|---|---|---|');
    for (const [name, o] of objectives) if (o) out.push(`| ${icon[o.status]} ${o.status} | ${name.toUpperCase()} | ${o.target} | ${formatDuration(o.measuredMs)} | ${o.basis} |`);
    const phases = report.objectives.rto?.phases;
    if (phases?.length) out.push('', `RTO by phase: ${phases.map((p) => `${p.store ? `restore ${p.store}` : p.phase} ${formatDuration(p.durationMs)}`).join(', ')}.`);
    out.push('');
  }
  if (report.stores.length) {
    out.push('### Stores', '', '| | store | engine | version | restore |', '|---|---|---|---|---|');
    for (const s of report.stores) out.push(`| ${icon[s.status]} | ${s.name} | ${s.engine}${s.requestedEngine ? ` (drill: ${s.requestedEngine})` : ''} | ${s.version || '—'} | ${formatDuration(s.restoreDurationMs)} |`);
    out.push('');
  }
  if (report.artefacts.length) {
    out.push('### Artefacts', '', '| store | artefact | format | size | sha256 |', '|---|---|---|---|---|');
    for (const a of report.artefacts) out.push(`| ${a.store} | \`${a.ref}\` | ${a.format}${a.compression !== 'none' ? ` (${a.compression})` : ''} | ${a.size} | \`${a.sha256.slice(0, 16)}…\` |`);
    out.push('');
  }
  if (report.sequence !== undefined) {
    out.push(
      `Evidence: run #${report.sequence} of this drill's history${report.previous ? `, chained to \`${report.previous.runId}\` (sha256 \`${report.previous.sha256.slice(0, 16)}…\`)` : ''}; ` +
        `${report.reports.envelope ? `signed (\`${report.reports.envelope}\`)` : 'not signed'}; controls: ${report.drill.controls.join(', ') || 'none'}.`,
      '',
    );
  }
  out.push(`Teardown: ${report.teardown.status}${report.teardown.completedAt ? ` at ${report.teardown.completedAt}` : ''}. Drill sha256 \`${report.drill.sha256 ?? 'n/a'}\`. restoreproof ${report.tool.version}.`, '');
  return out.join('\n');
}
