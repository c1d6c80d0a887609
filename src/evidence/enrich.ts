import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkId } from '../checks/types.ts';
import type { EvidenceFields } from '../report/builder.ts';
import type { BaselineProvenance, RunReport, TimelineEntry, Verdict } from '../report/types.ts';
import type { BaselineFile } from '../drill/baseline.ts';
import type { Drill } from '../drill/types.ts';
import { sha256 } from '../util/hash.ts';
import { redactDeep } from '../util/redact.ts';
import { canonicalJson } from './canonical.ts';

/**
 * Adds the compliance fields of schema 1.1 that can be derived from what the run recorded:
 * scope, environment, artefact selection, timeline, RTO per phase, check digests, baseline
 * provenance and the per-store verdict. Pure but for reading the baselines the run already read.
 */
export async function enrichReport(report: Readonly<RunReport>, drill: Drill | undefined): Promise<EvidenceFields> {
  const doc = drill?.document;
  const scope = {
    stores: report.stores.map((s) => {
      const requested = (doc?.spec.stores[s.name] as { version?: string } | undefined)?.version;
      return { name: s.name, engine: s.engine, version: s.version, ...(requested ? { requestedVersion: requested } : {}) };
    }),
    controls: [...report.drill.controls],
  };
  // The artefact's own claim (dump header time, RDB ctime…) when the source made one, else its mtime.
  const artefacts = report.artefacts.map((a) => ({ ...a, backupTime: a.backupTime ?? a.pointInTime?.at ?? a.modifiedAt, selection: a.selection ?? { method: 'explicit' as const } }));
  const entries = timeline(report);
  const rto = report.objectives.rto && {
    ...report.objectives.rto,
    // Teardown and mutants are not part of recovery; stores restore concurrently inside the restore phase.
    phases: entries.filter((t) => t.phase !== 'teardown' && t.phase !== 'mutants').map((t) => ({ phase: t.phase, ...(t.store ? { store: t.store } : {}), durationMs: t.durationMs })),
  };
  const specs = new Map((doc?.spec.checks ?? []).map((c, i) => [checkId(c, i), c] as const));
  return {
    scope,
    environment: describeEnvironment(report),
    artefacts,
    timeline: entries,
    objectives: { ...report.objectives, ...(rto ? { rto } : {}) },
    checks: report.checks.map((check) => ({ ...check, digest: checkDigest(specs.get(check.id) ?? null, check.actual) })),
    baselines: await baselineProvenance(report, drill),
    result: verdict(report),
  };
}

/** sha256 of the canonical JSON of `{ spec, actual }`: what the check asked and what it got. */
export function checkDigest(spec: unknown, actual: unknown): string {
  return sha256(canonicalJson({ spec: redactDeep(spec ?? null), actual: actual ?? null }));
}

const isolation: Record<string, string> = {
  local:
    'one dedicated server per store, created for this run (fresh data directory in a per-run temp dir, ' +
    'listening on 127.0.0.1 only, on a free port, with a per-run superuser and generated password); no production host is contacted',
};

function describeEnvironment(report: Readonly<RunReport>): NonNullable<RunReport['environment']> {
  const resources = report.teardown.resources;
  const network = resources.find((r) => r.kind === 'network')?.id;
  const namespace = resources.find((r) => r.kind === 'namespace')?.id;
  const containers = resources.filter((r) => r.kind === 'container').length;
  const pods = resources.filter((r) => r.kind === 'pod').length;
  const policy = resources.find((r) => r.kind === 'networkpolicy' && r.store !== 'app')?.id;
  const appPolicy = resources.find((r) => r.kind === 'networkpolicy' && r.store === 'app')?.id;
  const created = containers ? `${containers} container(s) created for this run` : pods ? `${pods} pod(s) created for this run` : 'stores created for this run';
  return {
    runtime: report.runtime,
    isolation:
      isolation[report.runtime] ??
      `runtime ${report.runtime}: ${created}${network ? ` on network ${network}` : ''}${namespace ? ` in namespace ${namespace}` : ''}${policy ? `, isolated by the default-deny NetworkPolicy ${policy} (no ingress or egress; enforced where the cluster's network plugin implements NetworkPolicy)` : ''}${appPolicy ? `; ${appPolicy} lets the app's pods (and only them) reach the stores` : ''}`,
    images: [...new Set(resources.flatMap((r) => (r.image ? [r.image] : [])))].map((name) => ({ name })),
    ...(report.runtime === 'local' ? { network: 'loopback (127.0.0.1)' } : network ? { network } : {}),
    ...(namespace ? { namespace } : {}),
  };
}

function timeline(report: Readonly<RunReport>): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const p of report.phases) {
    out.push({ phase: p.name, status: p.status, startedAt: p.startedAt, endedAt: p.endedAt, durationMs: p.durationMs });
    if (p.name !== 'restore') continue;
    for (const store of report.stores) {
      if (store.steps.length === 0) continue;
      const start = Math.min(...store.steps.map((s) => Date.parse(s.startedAt)));
      const end = Math.max(...store.steps.map((s) => Date.parse(s.startedAt) + s.durationMs));
      out.push({ phase: 'restore', store: store.name, status: store.status, startedAt: new Date(start).toISOString(), endedAt: new Date(end).toISOString(), durationMs: Math.max(0, end - start) });
    }
  }
  return out;
}

async function baselineProvenance(report: Readonly<RunReport>, drill: Drill | undefined): Promise<BaselineProvenance[]> {
  const out: BaselineProvenance[] = [];
  for (const include of report.drill.includes) {
    const checks = (drill?.document.spec.checks ?? []).flatMap((c, i) => ('baseline' in c && typeof c.baseline === 'string' && drill && resolve(drill.dir, c.baseline) === include.path ? [checkId(c, i)] : []));
    const entry: BaselineProvenance = { path: include.path, sha256: include.sha256, checks };
    try {
      const text = await readFile(include.path, 'utf8');
      // Only what the checks actually read: if the file changed since, its provenance is not this run's.
      if (sha256(text) === include.sha256) {
        const b = JSON.parse(text) as Partial<BaselineFile>;
        if (b.capturedAt) entry.capturedAt = b.capturedAt;
        if (b.engine) entry.engine = b.engine;
        if (b.tool) entry.tool = { name: b.tool.name, version: b.tool.version };
        if (b.source) entry.source = { host: b.source.host, port: b.source.port, user: b.source.user, serverVersion: b.source.serverVersion };
        if (b.consistency) entry.consistency = b.consistency;
      }
    } catch {
      // Unreadable now: path and digest are still the evidence.
    }
    out.push(redactDeep(entry));
  }
  return out;
}

function verdict(report: Readonly<RunReport>): NonNullable<RunReport['result']> {
  const status: Verdict = report.status === 'passed' ? 'passed' : report.status === 'warned' ? 'warned' : 'failed';
  const stores = report.stores.map((s) => {
    const checks = { passed: 0, failed: 0, warned: 0, skipped: 0 };
    for (const c of report.checks) if (c.store === s.name) checks[c.status]++;
    const storeStatus: Verdict | 'skipped' =
      s.status === 'failed' || checks.failed > 0 ? 'failed' : s.status === 'skipped' ? 'skipped' : checks.warned > 0 ? 'warned' : 'passed';
    return { name: s.name, status: storeStatus, restore: s.status, checks };
  });
  return { status, stores };
}
