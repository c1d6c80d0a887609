import { formatDuration } from '../util/duration.ts';
import { catchesLine, scoreLine } from '../mutate/score.ts';
import type { RunReport } from './types.ts';

/**
 * The compliance views, for people: one page per run (`<run-id>.compliance.html`) and one over a
 * history (`restoreproof report`). Self-contained: inline CSS and SVG, no script, no network asset.
 */

/** Escapes text for HTML element content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const colour: Record<string, string> = { passed: '#1a7f37', warned: '#bf8700', failed: '#cf222e', error: '#cf222e', aborted: '#8250df', skipped: '#8c959f', 'nothing-to-do': '#8c959f', completed: '#1a7f37', kept: '#bf8700', incomplete: '#cf222e' };
const colourOf = (status: string) => colour[status] ?? '#57606a';

const css = `
  :root { color-scheme: light; --fg: #1f2328; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); margin: 0; background: #fff; }
  main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
  h3 { font-size: 15px; margin: 18px 0 6px; }
  .muted { color: var(--muted); } code, .mono { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
  .cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0; }
  .card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 150px; background: var(--bg); }
  .card b { display: block; font-size: 18px; } .card span { color: var(--muted); font-size: 12px; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; } th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
  th { background: var(--bg); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
  .wrap { white-space: pre-wrap; word-break: break-word; } .actual { display: block; max-width: 260px; white-space: pre-wrap; word-break: break-all; } .chips span { display: inline-block; border: 1px solid var(--line); border-radius: 12px; padding: 0 8px; margin: 0 4px 4px 0; background: var(--bg); }
  .ok { color: #1a7f37; font-weight: 600; } .bad { color: #cf222e; font-weight: 600; } .warn { color: #bf8700; font-weight: 600; }
  svg text { font: 11px system-ui, sans-serif; fill: #1f2328; } svg .axis { stroke: #d0d7de; } svg .small { font-size: 10px; fill: #57606a; }
  footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">` +
    `<title>${esc(title)}</title><style>${css}</style></head><body><main>${body}</main></body></html>\n`;
}

const badge = (status: string, text = status) => `<span class="badge" style="background:${colourOf(status)}" data-status="${esc(status)}">${esc(text)}</span>`;
const cls = (status: string) => (status === 'passed' || status === 'completed' ? 'ok' : status === 'warned' || status === 'kept' ? 'warn' : status === 'skipped' ? 'muted' : 'bad');
const shortHash = (h: string | null | undefined) => (h ? `${h.slice(0, 16)}…` : '—');
const json = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

function table(headers: string[], rows: string[][], attrs = ''): string {
  if (rows.length === 0) return '<p class="muted">none</p>';
  return `<table${attrs}><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** A Gantt chart of the run's timeline: one bar per phase and per store restore, on a UTC time axis. */
export function timelineSvg(report: RunReport): string {
  const entries = report.timeline ?? report.phases.map((p) => ({ phase: p.name, status: p.status, startedAt: p.startedAt, endedAt: p.endedAt, durationMs: p.durationMs, store: undefined as string | undefined }));
  if (entries.length === 0) return '<p class="muted">no phase ran</p>';
  const t0 = Date.parse(report.startedAt);
  const t1 = Math.max(Date.parse(report.endedAt || report.startedAt), ...entries.map((e) => Date.parse(e.endedAt)));
  const span = Math.max(1, t1 - t0);
  const [w, left, row] = [760, 170, 24];
  const plot = w - left - 80;
  const h = entries.length * row + 34;
  const x = (t: number) => left + ((t - t0) / span) * plot;
  const bars = entries.map((e, i) => {
    const y = 8 + i * row;
    const x0 = x(Date.parse(e.startedAt));
    const bw = Math.max(2, x(Date.parse(e.endedAt)) - x0);
    const label = e.store ? `  restore ${e.store}` : e.phase;
    return `<g data-phase="${esc(e.phase)}"${e.store ? ` data-store="${esc(e.store)}"` : ''}><title>${esc(`${label.trim()}: ${e.status}, ${e.startedAt} → ${e.endedAt} (${formatDuration(e.durationMs)})`)}</title>` +
      `<text x="8" y="${y + 15}">${esc(label)}</text><rect x="${x0.toFixed(1)}" y="${y + 3}" width="${bw.toFixed(1)}" height="${row - 8}" rx="3" fill="${colourOf(e.status)}"/>` +
      `<text class="small" x="${(x0 + bw + 4).toFixed(1)}" y="${y + 15}">${esc(formatDuration(e.durationMs))}</text></g>`;
  });
  const axisY = entries.length * row + 12;
  return `<svg role="img" aria-label="phase timeline" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg">` +
    `<line class="axis" x1="${left}" y1="${axisY}" x2="${left + plot}" y2="${axisY}"/>` +
    `<text class="small" x="${left}" y="${axisY + 14}">${esc(new Date(t0).toISOString())}</text>` +
    `<text class="small" x="${left + plot}" y="${axisY + 14}" text-anchor="end">${esc(formatDuration(span))}</text>${bars.join('')}</svg>`;
}

export interface RunPageOptions {
  /** Key id the evidence is (being) signed with. */
  signingKeyId?: string;
}

/** The compliance page of one run. */
export function renderRunCompliance(report: RunReport, options: RunPageOptions = {}): string {
  const c = report.summary.checks;
  const verdict = report.result?.status ?? report.status;
  const rto = report.objectives.rto;
  const rpo = report.objectives.rpo;
  const trigger = `${report.trigger.kind}${report.trigger.provider ? ` (${report.trigger.provider})` : ''}, by ${report.trigger.actor}`;
  const reportLinks = Object.entries(report.reports)
    .filter(([k]) => k !== 'compliance')
    .map(([k, f]) => `<a href="${esc(f)}">${esc(k === 'html' ? 'detailed per-check report (mochawesome)' : f)}</a>`)
    .join(' · ');
  const out: string[] = [
    `<h1>Restore drill evidence: ${esc(report.drill.name)} ${badge(verdict)}</h1>`,
    `<p class="muted">Run <code id="run-id">${esc(report.runId)}</code>${report.sequence ? ` · #${report.sequence} in this drill's history` : ''} · ${esc(report.startedAt)} → ${esc(report.endedAt)} (UTC) · ${esc(trigger)}` +
      `${report.trigger.jobUrl ? ` · <a href="${esc(report.trigger.jobUrl)}">CI job</a>` : ''} · host ${esc(report.host.hostname)} · restoreproof ${esc(report.tool.version)}</p>`,
    report.drill.description ? `<p>${esc(report.drill.description)}</p>` : '',
    '<div class="cards">',
    `<div class="card"><span>result</span><b class="${cls(verdict)}">${esc(verdict.toUpperCase())}</b></div>`,
    `<div class="card"><span>checks</span><b>${c.passed}/${c.total} passed</b>${c.failed ? `<span class="bad">${c.failed} failed</span> ` : ''}${c.warned ? `<span class="warn">${c.warned} warned</span> ` : ''}${c.skipped ? `<span>${c.skipped} skipped</span>` : ''}</div>`,
    rto ? `<div class="card"><span>RTO (target ${esc(rto.target)})</span><b class="${cls(rto.status)}">${esc(formatDuration(rto.measuredMs))}</b><span>${esc(rto.status)}</span></div>` : `<div class="card"><span>RTO</span><b class="muted">no target</b><span>took ${esc(formatDuration(report.durationMs))}</span></div>`,
    rpo ? `<div class="card"><span>RPO (target ${esc(rpo.target)})</span><b class="${cls(rpo.status)}">${esc(formatDuration(rpo.measuredMs))}</b><span>data age, ${esc(rpo.status)}</span></div>` : '',
    report.mutation ? `<div class="card"><span>mutation score</span><b class="${cls(report.mutation.verdict)}">${esc(report.mutation.score === null ? 'none' : `${(report.mutation.score * 100).toFixed(0)}%`)}</b><span>${esc(catchesLine(report.mutation))}</span></div>` : '',
    `<div class="card"><span>teardown</span><b class="${cls(report.teardown.status)}">${esc(report.teardown.status)}</b><span>${esc(report.teardown.completedAt)}</span></div>`,
    '</div>',
    reportLinks ? `<p>Reports: ${reportLinks}</p>` : '',
  ];

  out.push('<h2>Scope and controls</h2>');
  out.push(`<p class="chips" id="controls">${report.drill.controls.length ? report.drill.controls.map((k) => `<span>${esc(k)}</span>`).join('') : '<span class="muted">no controls mapped (metadata.controls)</span>'}</p>`);
  out.push(table(['store', 'engine', 'version', 'restore', 'checks', 'result'], (report.result?.stores ?? []).map((s) => {
    const store = report.stores.find((x) => x.name === s.name);
    const requested = report.scope?.stores.find((x) => x.name === s.name)?.requestedVersion;
    return [esc(s.name), esc(store?.engine), `${esc(store?.version || '—')}${requested ? ` <span class="muted">(asked ${esc(requested)})</span>` : ''}`, `<span class="${cls(s.restore)}">${esc(s.restore)}</span> ${esc(formatDuration(store?.restoreDurationMs ?? 0))}`, `${s.checks.passed} passed, ${s.checks.failed} failed, ${s.checks.warned} warned, ${s.checks.skipped} skipped`, badge(s.status)];
  }), ' id="stores"'));

  out.push('<h2>Timeline (UTC)</h2>', timelineSvg(report));
  if (rto) {
    out.push(`<p>RTO target ${esc(rto.target)}, measured ${esc(formatDuration(rto.measuredMs))} (${esc(rto.basis)}): <span class="${cls(rto.status)}">${esc(rto.status)}</span>.</p>`);
    out.push(table(['phase', 'duration', 'share of target'], (rto.phases ?? []).map((p) => [esc(p.store ? `restore ${p.store}` : p.phase), esc(formatDuration(p.durationMs)), `${((p.durationMs / Math.max(1, rto.targetMs)) * 100).toFixed(2)}%`])));
  }
  if (rpo) out.push(`<p>RPO target ${esc(rpo.target)}, data age ${esc(formatDuration(rpo.measuredMs))} (${esc(rpo.basis)}): <span class="${cls(rpo.status)}">${esc(rpo.status)}</span>.</p>`);

  out.push('<h2>Backup artefacts</h2>');
  out.push(table(['store', 'location', 'size', 'sha256', 'backup time', 'selection', 'encryption key'], report.artefacts.map((a) => [
    esc(a.store), `<code>${esc(a.path)}</code>${a.host ? ` <span class="muted">on ${esc(a.host)}</span>` : ''}`, esc(a.size), `<code title="${esc(a.sha256)}">${esc(shortHash(a.sha256))}</code>`, esc(a.backupTime ?? a.modifiedAt), esc(a.selection?.method ?? 'explicit'), esc(a.encryptionKeyId ?? 'not encrypted'),
  ])));

  if (report.environment) {
    const e = report.environment;
    out.push('<h2>Target environment</h2>', `<p>Runtime <b>${esc(e.runtime)}</b>${e.network ? `, network ${esc(e.network)}` : ''}${e.namespace ? `, namespace ${esc(e.namespace)}` : ''}. Isolation: ${esc(e.isolation)}.</p>`);
    if (e.images.length) out.push(table(['image', 'digest'], e.images.map((i) => [esc(i.name), `<code>${esc(i.digest ?? '—')}</code>`])));
  }

  out.push('<h2>Checks</h2>');
  out.push(table(['', 'check', 'type', 'store', 'expected', 'actual', 'message', 'digest'], report.checks.map((k) => [
    badge(k.status), `<b>${esc(k.id)}</b><br><span class="muted">${esc(k.name)}</span>`, esc(k.type), esc(`${k.store}${k.database ? `/${k.database}` : ''}`), esc(k.expected), `<code class="actual">${esc(json(k.actual).slice(0, 300))}</code>`, `<span class="wrap">${esc(k.message.split('\n').slice(0, 6).join('\n'))}</span>`, `<code title="${esc(k.digest ?? '')}">${esc(shortHash(k.digest))}</code>`,
  ]), ' id="checks"'));

  if (report.mutation) {
    const m = report.mutation;
    out.push('<h2>Mutation testing</h2>', `<p id="mutation">${badge(m.verdict)} ${esc(m.score === null ? (m.reason ?? 'no score') : `${catchesLine(m)}: ${scoreLine(m)}.`)}</p>`);
    if (m.status === 'stopped' && m.reason) out.push(`<p class="bad">${esc(m.reason)}</p>`);
    if (m.stores.length) out.push(table(['store', 'killed', 'scored', 'accepted', 'score', 'note'], m.stores.map((s) => [esc(s.name), esc(s.killed), esc(s.total - s.accepted), esc(s.accepted), esc(s.score === null ? '—' : `${(s.score * 100).toFixed(1)}%`), esc(s.note ?? '')])));
    if (m.mutants.length) {
      out.push(table(['', 'damage', 'store', 'noticed by', 'what would notice it'], m.mutants.map((x) => [
        badge(x.status === 'killed' ? 'passed' : x.status === 'accepted' ? 'warned' : x.status === 'not-run' ? 'skipped' : 'failed', x.status), `<b>${esc(x.id)}</b><br><span class="muted">${esc(x.description)}</span>`, esc(x.store), esc(x.killedBy ?? (x.error ?? '—')), esc(x.status === 'accepted' ? `accepted: ${x.acceptedWhy ?? ''}` : x.status === 'survived' ? x.hint : ''),
      ]), ' id="mutants"'));
    }
  }

  if (report.baselines?.length) {
    out.push('<h2>Baseline provenance</h2>');
    out.push(table(['baseline', 'sha256', 'captured', 'source', 'consistency', 'used by'], report.baselines.map((b) => [
      `<code>${esc(b.path)}</code>`, `<code title="${esc(b.sha256)}">${esc(shortHash(b.sha256))}</code>`, esc(b.capturedAt ?? '—'), esc(b.source ? `${b.source.user}@${b.source.host}:${b.source.port} (${b.source.serverVersion})` : '—'), esc(b.consistency ?? '—'), esc(b.checks.join(', ')),
    ])));
  }

  out.push('<h2>Teardown</h2>', `<p>${badge(report.teardown.status)} at ${esc(report.teardown.completedAt)}</p>`);
  out.push(table(['kind', 'resource', 'store', 'removed'], report.teardown.resources.map((r) => [esc(r.kind), `<code>${esc(r.id)}</code>`, esc(r.store ?? ''), r.removed ? '<span class="ok">yes</span>' : `<span class="bad">no${r.error ? `: ${esc(r.error)}` : ''}</span>`])));

  out.push('<h2>Integrity</h2>');
  out.push(table(['what', 'value'], [
    ['drill file', `<code>${esc(report.drill.file)}</code> sha256 <code>${esc(report.drill.sha256 ?? 'n/a')}</code>`],
    ...report.drill.includes.map((i) => ['included file', `<code>${esc(i.path)}</code> sha256 <code>${esc(i.sha256)}</code>`]),
    ['previous run (chain)', report.previous ? `<code>${esc(report.previous.runId)}</code> sha256 <code>${esc(report.previous.sha256)}</code>` : 'none: first run in this history'],
    ['signature', options.signingKeyId ? `DSSE envelope <code>${esc(report.reports.envelope ?? '')}</code>, Ed25519 key id <code>${esc(options.signingKeyId)}</code> (check with <code>restoreproof verify</code>)` : '<span class="warn">not signed</span> (set spec.report.sign or RESTOREPROOF_SIGNING_KEY_FILE)'],
  ], ' id="integrity"'));

  if (report.errors.length) {
    out.push('<h2>Errors</h2>', table(['code', 'message', 'hint'], report.errors.map((e) => [`<code>${esc(e.code)}</code>`, `<span class="wrap">${esc(`${e.file ? `${[e.file, e.line, e.col].filter(Boolean).join(':')}: ` : ''}${e.path ? `${e.path}: ` : ''}${e.message}`)}</span>`, esc(e.hint ?? '')])));
  }
  out.push('<footer>Sign-off (reviewer, corrective actions, ticket) is recorded separately by <code>restoreproof review</code> as signed records that never edit this evidence.</footer>');
  return page(`restoreproof ${report.drill.name} ${report.runId}: ${verdict}`, out.join('\n'));
}

/** What `restoreproof report` shows; assembled by src/evidence/compliance.ts. */
export interface HistoryView {
  generatedAt: string;
  since: string;
  sinceLabel: string;
  source: string;
  drills: DrillView[];
}

export interface ReviewView {
  reviewer: string;
  reviewedAt: string;
  correctiveActions: string[];
  ticket?: string;
  verified: boolean | null;
}

export interface DrillView {
  name: string;
  dir: string;
  runs: RunReport[];
  reviews: Record<string, ReviewView[]>;
  /** Chain problems over the whole history (not just the period). */
  chainProblems: string[];
  chainLength: number;
  signatures: { verified: number; failed: string[]; unsigned: number; checked: boolean };
}

const failedStatus = (s: string) => s === 'failed' || s === 'error' || s === 'could-not-run' || s === 'aborted';

/** Pass/fail per run, one row for the drill and one per store. */
export function passFailSvg(drill: DrillView): string {
  const runs = drill.runs;
  const stores = [...new Set(runs.flatMap((r) => r.stores.map((s) => s.name)))];
  const rows = [{ label: 'drill', status: (r: RunReport) => r.result?.status ?? r.status }, ...stores.map((name) => ({ label: `store ${name}`, status: (r: RunReport) => r.result?.stores.find((s) => s.name === name)?.status ?? 'skipped' }))];
  const [left, w] = [150, 760];
  const cell = Math.max(4, Math.min(18, Math.floor((w - left - 10) / Math.max(1, runs.length))));
  const h = rows.length * 22 + 30;
  const cells = rows.map((row, i) => `<text x="6" y="${i * 22 + 19}">${esc(row.label)}</text>` + runs.map((r, j) => {
    const status = row.status(r);
    return `<rect data-run="${esc(r.runId)}" data-status="${esc(status)}" x="${left + j * cell}" y="${i * 22 + 6}" width="${cell - 2}" height="18" rx="2" fill="${colourOf(status)}"><title>${esc(`${r.runId} ${row.label}: ${status} (${r.startedAt})`)}</title></rect>`;
  }).join('')).join('');
  const first = runs[0]?.startedAt.slice(0, 10);
  const last = runs.at(-1)?.startedAt.slice(0, 10);
  // One date when the row is too short for two, or they are the same day.
  const axis = !first ? '' : first === last || runs.length * cell < 150
    ? `<text class="small" x="${left}" y="${h - 4}">${esc(first === last ? first : `${first} → ${last}`)}</text>`
    : `<text class="small" x="${left}" y="${h - 4}">${esc(first)}</text><text class="small" x="${left + runs.length * cell}" y="${h - 4}" text-anchor="end">${esc(last)}</text>`;
  return `<svg role="img" aria-label="pass/fail timeline of ${esc(drill.name)}" class="passfail" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg">${cells}${axis}</svg>`;
}

/** Time to a verified restore per run against the RTO target. */
export function rtoTrendSvg(drill: DrillView): string {
  const points = drill.runs.map((r) => {
    const checksEnd = r.phases.find((p) => p.name === 'checks' && p.status !== 'skipped')?.endedAt;
    const measured = r.objectives.rto?.measuredMs ?? (checksEnd ? Date.parse(checksEnd) - Date.parse(r.startedAt) : null);
    return { run: r, measured, target: r.objectives.rto?.targetMs, targetLabel: r.objectives.rto?.target, ok: r.objectives.rto ? r.objectives.rto.status === 'passed' : !failedStatus(r.status) };
  }).filter((p): p is typeof p & { measured: number } => p.measured !== null);
  if (points.length === 0) return '<p class="muted">no run reached the end of its checks in this period</p>';
  const latest = points.findLast((p) => p.target !== undefined);
  const target = latest?.target;
  const targetLabel = latest?.targetLabel ?? '';
  const maxMeasured = Math.max(...points.map((p) => p.measured));
  const targetOnChart = target !== undefined && target <= maxMeasured * 3;
  const yMax = Math.max(1, targetOnChart ? Math.max(target!, maxMeasured) * 1.1 : maxMeasured * 1.2);
  const [w, h, left, top, bottom] = [760, 200, 60, 14, 28];
  const plotW = w - left - 20;
  const plotH = h - top - bottom;
  const x = (i: number) => left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.measured).toFixed(1)}`).join(' ');
  const dots = points.map((p, i) => `<circle data-run="${esc(p.run.runId)}" cx="${x(i).toFixed(1)}" cy="${y(p.measured).toFixed(1)}" r="4" fill="${p.ok ? colour.passed : colour.failed}"><title>${esc(`${p.run.runId}: ${formatDuration(p.measured)}${p.target !== undefined ? ` (target ${p.targetLabel})` : ''}`)}</title></circle>`).join('');
  const targetLine = target === undefined
    ? `<text class="small" x="${left + 6}" y="${top + 10}">no RTO target (spec.objectives.rto)</text>`
    : targetOnChart
      ? `<line class="rto-target" x1="${left}" x2="${left + plotW}" y1="${y(target).toFixed(1)}" y2="${y(target).toFixed(1)}" stroke="${colour.failed}" stroke-dasharray="6 4"/><text class="small" x="${left + plotW}" y="${(y(target) - 4).toFixed(1)}" text-anchor="end">RTO target ${esc(targetLabel)}</text>`
      : `<text class="small rto-target" x="${left + plotW}" y="${top + 10}" text-anchor="end">RTO target ${esc(targetLabel)}: above the chart, every run well within it</text>`;
  return `<svg role="img" aria-label="RTO trend of ${esc(drill.name)}" class="rto" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg">` +
    `<line class="axis" x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}"/><line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}"/>` +
    `<text class="small" x="${left - 6}" y="${top + 8}" text-anchor="end">${esc(formatDuration(yMax))}</text><text class="small" x="${left - 6}" y="${top + plotH}" text-anchor="end">0</text>` +
    `<text class="small" x="${left}" y="${h - 8}">${esc(points[0]!.run.startedAt.slice(0, 10))}</text>` +
    (points.at(-1)!.run.startedAt.slice(0, 10) !== points[0]!.run.startedAt.slice(0, 10) ? `<text class="small" x="${left + plotW}" y="${h - 8}" text-anchor="end">${esc(points.at(-1)!.run.startedAt.slice(0, 10))}</text>` : '') +
    `${targetLine}<path d="${path}" fill="none" stroke="#0969da" stroke-width="2"/>${dots}</svg>`;
}

/** The compliance report over a history: `restoreproof report --since 90d`. */
export function renderHistoryCompliance(view: HistoryView): string {
  const runs = view.drills.flatMap((d) => d.runs.map((r) => ({ drill: d, run: r })));
  const deviations = runs.filter(({ drill, run }) => failedStatus(run.status) && !(drill.reviews[run.runId]?.length));
  const brokenChains = view.drills.filter((d) => d.chainProblems.length || d.signatures.failed.length);
  const out: string[] = [
    `<h1>Restore drill compliance report</h1>`,
    `<p class="muted">Period: ${esc(view.sinceLabel)} (since ${esc(view.since)}) · generated ${esc(view.generatedAt)} · history <code>${esc(view.source)}</code></p>`,
    '<div class="cards">',
    `<div class="card"><span>drills</span><b id="drill-count">${view.drills.length}</b></div>`,
    `<div class="card"><span>runs in period</span><b id="run-count">${runs.length}</b><span>${runs.filter(({ run }) => run.status === 'passed' || run.status === 'warned').length} passed</span></div>`,
    `<div class="card"><span>open deviations</span><b id="deviation-count" class="${deviations.length ? 'bad' : 'ok'}">${deviations.length}</b><span>failed runs without a review</span></div>`,
    `<div class="card"><span>verification</span><b id="verification" class="${brokenChains.length ? 'bad' : 'ok'}">${brokenChains.length ? 'BROKEN' : 'INTACT'}</b><span>chains and signatures</span></div>`,
    '</div>',
  ];

  out.push('<h2>Verification status</h2>');
  out.push(table(['drill', 'chain', 'signatures'], view.drills.map((d) => [
    esc(d.name),
    d.chainProblems.length ? `<span class="bad">broken</span><ul>${d.chainProblems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : `<span class="ok">intact</span> (${d.chainLength} runs)`,
    !d.signatures.checked
      ? `<span class="muted">not checked (no --key)</span>`
      : d.signatures.failed.length
        ? `<span class="bad">${d.signatures.failed.length} failed</span><ul>${d.signatures.failed.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`
        : `<span class="ok">${d.signatures.verified} verified</span>${d.signatures.unsigned ? `, <span class="warn">${d.signatures.unsigned} unsigned</span>` : ''}`,
  ]), ' id="verification-table"'));

  const controls = new Map<string, { drills: Set<string>; runs: number; passed: number; last?: RunReport }>();
  for (const { drill, run } of runs) {
    for (const k of run.drill.controls) {
      const entry = controls.get(k) ?? { drills: new Set(), runs: 0, passed: 0 };
      entry.drills.add(drill.name);
      entry.runs++;
      if (!failedStatus(run.status)) entry.passed++;
      if (!entry.last || entry.last.startedAt < run.startedAt) entry.last = run;
      controls.set(k, entry);
    }
  }
  out.push('<h2>Controls covered</h2>');
  out.push(table(['control', 'drills', 'runs', 'passed', 'last run'], [...controls.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, e]) => [
    `<b>${esc(k)}</b>`, esc([...e.drills].join(', ')), esc(e.runs), esc(e.passed), e.last ? `${badge(e.last.status)} ${esc(e.last.startedAt)}` : '—',
  ]), ' id="controls-table"'));

  out.push('<h2>Open deviations</h2>');
  out.push(table(['drill', 'run', 'started', 'status', 'what failed'], deviations.map(({ drill, run }) => [
    esc(drill.name), `<code>${esc(run.runId)}</code>`, esc(run.startedAt), badge(run.status),
    esc([...run.checks.filter((c) => c.status === 'failed').map((c) => `${c.id}: ${c.message.split('\n')[0]}`), ...run.errors.map((e) => `${e.code}: ${e.message.split('\n')[0]}`)].slice(0, 4).join('; ')),
  ]), ' id="deviations-table"'));

  for (const d of view.drills) {
    const reviewed = Object.entries(d.reviews).flatMap(([runId, list]) => list.map((r) => ({ runId, ...r })));
    out.push(`<section class="drill" data-drill="${esc(d.name)}"><h2>Drill ${esc(d.name)}</h2>`);
    out.push(`<p class="muted">${d.runs.length} run(s) in period · controls ${esc(d.runs.at(-1)?.drill.controls.join(', ') || 'none')} · history <code>${esc(d.dir)}</code></p>`);
    out.push('<h3>Pass/fail per run</h3>', passFailSvg(d));
    out.push('<h3>Time to verified restore vs RTO target</h3>', rtoTrendSvg(d));
    out.push('<h3>Runs</h3>');
    out.push(table(['#', 'run', 'started (UTC)', 'result', 'checks', 'RTO', 'reviewed'], d.runs.map((r) => [
      esc(r.sequence ?? ''), `<code>${esc(r.runId)}</code>`, esc(r.startedAt), badge(r.result?.status ?? r.status, r.status), `${r.summary.checks.passed}/${r.summary.checks.total}`,
      r.objectives.rto ? `<span class="${cls(r.objectives.rto.status)}">${esc(formatDuration(r.objectives.rto.measuredMs))}</span> / ${esc(r.objectives.rto.target)}` : '—',
      esc((d.reviews[r.runId] ?? []).map((x) => x.reviewer).join(', ') || '—'),
    ])));
    if (reviewed.length) {
      out.push('<h3>Reviews</h3>');
      out.push(table(['run', 'reviewer', 'reviewed at', 'corrective actions', 'ticket', 'signature'], reviewed.map((r) => [
        `<code>${esc(r.runId)}</code>`, esc(r.reviewer), esc(r.reviewedAt), esc(r.correctiveActions.join('; ') || '—'), esc(r.ticket ?? '—'), r.verified === null ? '<span class="muted">not checked</span>' : r.verified ? '<span class="ok">verified</span>' : '<span class="bad">invalid</span>',
      ])));
    }
    out.push('</section>');
  }
  if (view.drills.length === 0) out.push('<p class="muted">No drill history found.</p>');
  out.push('<footer>Generated by restoreproof. Each run\'s evidence is a JSON document chained to the previous run of its drill by sha256 and, when signed, wrapped in an in-toto Statement in a DSSE envelope (Ed25519).</footer>');
  return page(`restoreproof compliance report (${view.sinceLabel})`, out.join('\n'));
}
