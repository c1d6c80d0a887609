import { RestoreproofError, errorMessage } from '../errors.ts';
import type { RunReport, RunStatus } from '../report/types.ts';
import { toolVersion } from '../version.ts';
import { origin } from './webhook.ts';

export interface PushgatewaySpec {
  url: string;
  job?: string;
}

const statuses: RunStatus[] = ['passed', 'warned', 'failed', 'error', 'could-not-run', 'aborted'];

/** Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*, `__` reserved. */
export function labelName(name: string): string {
  let out = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(out)) out = `_${out}`;
  return out.replace(/^__+/, '_');
}

function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The run as metrics in the text exposition format (version 0.0.4). */
export function renderMetrics(report: RunReport, labels: Record<string, string> = {}): string {
  const base: Record<string, string> = { drill: report.drill.name };
  const reserved = new Set(['drill', 'job', 'instance', 'phase', 'status', 'store']);
  for (const [k, v] of Object.entries(labels)) {
    const name = labelName(k);
    base[reserved.has(name) ? `label_${name}` : name] = v;
  }
  const fmt = (extra: Record<string, string> = {}) => {
    const all = { ...base, ...extra };
    return `{${Object.entries(all).map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')}}`;
  };
  const lines: string[] = [];
  const metric = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    if (samples.length === 0) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [extra, value] of samples) lines.push(`${name}${fmt(extra)} ${Number.isFinite(value) ? value : 0}`);
  };
  const end = Date.parse(report.endedAt || report.startedAt) / 1000;
  // Pushed with POST, so a failed run leaves the last success time of an earlier run in place.
  if (report.status === 'passed' || report.status === 'warned') metric('restoreproof_last_success_timestamp_seconds', 'Unix time the last successful drill run ended.', [[{}, end]]);
  metric('restoreproof_last_run_timestamp_seconds', 'Unix time the last drill run ended, whatever its result.', [[{}, end]]);
  metric('restoreproof_phase_duration_seconds', 'Duration of each phase of the last run.', report.phases.map((p) => [{ phase: p.name }, p.durationMs / 1000]));
  metric('restoreproof_store_restore_duration_seconds', 'Restore duration of each store in the last run.', report.stores.map((s) => [{ store: s.name }, s.restoreDurationMs / 1000]));
  metric('restoreproof_result', 'Result of the last run: 1 for its status, 0 for the others.', statuses.map((s) => [{ status: s }, report.status === s ? 1 : 0]));
  metric('restoreproof_checks_failed', 'Checks that failed in the last run.', [[{}, report.summary.checks.failed]]);
  const times = report.artefacts.map((a) => Date.parse(a.backupTime ?? a.modifiedAt)).filter(Number.isFinite);
  if (times.length) metric('restoreproof_data_age_seconds', 'Age of the oldest restored backup at the start of the last run.', [[{}, (Date.parse(report.startedAt) - Math.min(...times)) / 1000]]);
  if (report.objectives.rto) metric('restoreproof_rto_target_seconds', 'The drill’s recovery time objective.', [[{}, report.objectives.rto.targetMs / 1000]]);
  return `${lines.join('\n')}\n`;
}

/** POSTs to /metrics/job/<job>/drill/<name>: replaces only the metrics pushed, for this drill's group. */
export async function pushMetrics(spec: PushgatewaySpec, report: RunReport, labels: Record<string, string> = {}, timeoutMs = 15_000): Promise<void> {
  const base = spec.url.replace(/\/+$/, '');
  const url = `${base}/metrics/job/${encodeURIComponent(spec.job ?? 'restoreproof')}/drill/${encodeURIComponent(report.drill.name)}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'user-agent': `restoreproof/${toolVersion}` }, body: renderMetrics(report, labels), signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new RestoreproofError('E_NOTIFY', `pushgateway ${origin(spec.url)} failed: ${cause ? errorMessage(cause) : errorMessage(err)}`);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) throw new RestoreproofError('E_NOTIFY', `pushgateway ${origin(spec.url)} answered HTTP ${response.status}${text ? `: ${text.trim().split('\n')[0]!.slice(0, 200)}` : ''}`);
}
