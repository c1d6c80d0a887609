import type { V1Namespace, V1NetworkPolicySpec } from '@kubernetes/client-node';
import { errorMessage } from '../../errors.ts';
import type { ResourceRecord } from '../types.ts';
import { LABEL_DRILL, LABEL_EXPIRES, LABEL_RUN } from '../shared/labels.ts';
import { expiresAt, gcDecision, harnessFromLabels, harnessLabels, runStartedAt, type GcOptions } from '../shared/ownership.ts';
import { dnsLabel, kube, kubeError, labelValue, statusOf } from './client.ts';
import type { GcAction } from '../types.ts';

export const NETWORK_POLICY = 'restoreproof-default-deny';
/** spec.network.egress: true opens egress from every pod of the run (to anywhere). */
export const EGRESS_POLICY = 'restoreproof-allow-egress';

/** `restoreproof-` unless RESTOREPROOF_KUBE_NAMESPACE_PREFIX says otherwise. */
export function namespacePrefix(): string {
  return process.env.RESTOREPROOF_KUBE_NAMESPACE_PREFIX ?? 'restoreproof-';
}

/** prefix + drill name + the run id's random suffix, as one DNS label. */
export function namespaceName(runId: string, drillName: string, prefix = namespacePrefix()): string {
  const short = runId.split('-').at(-1)!.toLowerCase();
  const head = dnsLabel(`${prefix}${drillName}`, 63 - short.length - 1);
  return `${head}-${short}`;
}

/** How long teardown waits for a deleted namespace to disappear (RESTOREPROOF_KUBE_DELETE_TIMEOUT_MS, default 180 s). */
const deleteTimeoutMs = () => Number(process.env.RESTOREPROOF_KUBE_DELETE_TIMEOUT_MS) || 180_000;

/**
 * The namespace of a run, shared by its stores. Reference-counted like the containers runtime's
 * network: created with its default-deny NetworkPolicy by the first store, deleted (and waited
 * for until it is gone) when the last store lets go of it; a kept store never does.
 */
export class RunNamespace {
  readonly name: string;
  readonly record: ResourceRecord;
  readonly policyRecord: ResourceRecord;
  private readonly egressRecord: ResourceRecord | undefined;
  private readonly runId: string;
  private readonly drillName: string;
  private refs = 0;
  private created: Promise<void> | undefined;
  private recordClaimed = false;
  private released: Promise<void> | undefined;
  /** Everything in the namespace (pods, services, secrets): it goes when the namespace goes. */
  private readonly tracked: ResourceRecord[] = [];

  constructor(runId: string, drillName: string, egress: boolean) {
    this.runId = runId;
    this.drillName = drillName;
    this.name = namespaceName(runId, drillName);
    this.record = { kind: 'namespace', id: this.name };
    this.policyRecord = { kind: 'networkpolicy', id: `${this.name}/${NETWORK_POLICY}` };
    this.tracked.push(this.record, this.policyRecord);
    if (egress) {
      this.egressRecord = { kind: 'networkpolicy', id: `${this.name}/${EGRESS_POLICY}` };
      this.tracked.push(this.egressRecord);
    }
  }

  /** `base`, or `base-2`, `base-3`…: a name that neither it nor its `-env` Secret shares with an object of the namespace (stores are named by the drill). */
  freeName(base: string): string {
    const taken = new Set(this.tracked.map((r) => r.id.split('/').pop()!));
    let name = base;
    for (let i = 2; taken.has(name) || taken.has(`${name}-env`); i++) name = `${base}-${i}`;
    return name;
  }

  /** Records of objects created in the namespace; marked removed once the namespace is gone. */
  track(...records: ResourceRecord[]): void {
    this.tracked.push(...records);
  }

  labels(): Record<string, string> {
    return { [LABEL_RUN]: labelValue(this.runId), [LABEL_DRILL]: labelValue(this.drillName) };
  }

  async acquire(): Promise<void> {
    this.refs++;
    this.created ??= this.create();
    return this.created;
  }

  private async create(): Promise<void> {
    const k = await kube();
    const body: V1Namespace = { metadata: { name: this.name, labels: this.labels(), annotations: { [LABEL_EXPIRES]: expiresAt(), 'restoreproof.run-id': this.runId, ...harnessLabels() } } };
    try {
      await k.core.createNamespace({ body });
    } catch (err) {
      throw kubeError(err, `creating namespace ${this.name}`, k.server);
    }
    this.record.id = this.name;
    // Nothing in or out but what the run itself opens (exec and port-forward go through the API
    // server and the kubelet, which connects inside the pod's network namespace).
    const policies: { name: string; spec: V1NetworkPolicySpec }[] = [{ name: NETWORK_POLICY, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }];
    if (this.egressRecord) policies.push({ name: EGRESS_POLICY, spec: { podSelector: {}, policyTypes: ['Egress'], egress: [{}] } });
    for (const policy of policies) {
      try {
        await k.networking.createNamespacedNetworkPolicy({ namespace: this.name, body: { metadata: { name: policy.name, labels: this.labels() }, spec: policy.spec } });
      } catch (err) {
        await this.remove().catch(() => {});
        throw kubeError(err, `creating NetworkPolicy ${policy.name} in namespace ${this.name}`, k.server);
      }
    }
  }

  /** The namespace and its policy go to the first store's resources only, so they are reported once. */
  claimRecords(): ResourceRecord[] {
    if (this.recordClaimed) return [];
    this.recordClaimed = true;
    return [this.record, this.policyRecord, ...(this.egressRecord ? [this.egressRecord] : [])];
  }

  async release(): Promise<void> {
    if (--this.refs > 0 || !this.created) return;
    if (!(await this.created.then(() => true, () => false))) return;
    this.released ??= this.remove();
    return this.released;
  }

  /** Deletes the namespace and waits until the API server no longer knows it. */
  private async remove(): Promise<void> {
    const k = await kube();
    const result = await deleteNamespaceAndWait(this.name, deleteTimeoutMs());
    for (const r of this.tracked) {
      if (result.ok) r.removed = true;
      else r.error = `namespace ${this.name}: ${result.error} (${k.server})`;
    }
  }
}

/** Deletes a namespace (foreground for its contents) and polls until it is gone. Never throws. */
export async function deleteNamespaceAndWait(name: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  const k = await kube();
  try {
    await k.core.deleteNamespace({ name, gracePeriodSeconds: 0, propagationPolicy: 'Background' });
  } catch (err) {
    if (statusOf(err) !== 404) return { ok: false, error: `delete refused: ${kubeError(err, `deleting namespace ${name}`).message}` };
  }
  const deadline = Date.now() + timeoutMs;
  let phase = '';
  while (Date.now() < deadline) {
    try {
      const ns = await k.core.readNamespace({ name });
      phase = `${ns.status?.phase ?? ''} ${(ns.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => `${c.type}: ${c.message}`).join('; ')}`.trim();
    } catch (err) {
      if (statusOf(err) === 404) return { ok: true };
      phase = errorMessage(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { ok: false, error: `still present ${timeoutMs / 1000}s after deletion (${phase || 'no status'})` };
}

const namespaces = new Map<string, RunNamespace>();

/** The run's namespace; `egress` (spec.network.egress) decides, at its creation, whether its pods may reach out. */
export function runNamespace(runId: string, drillName: string, egress = false): RunNamespace {
  let ns = namespaces.get(runId);
  if (!ns) {
    ns = new RunNamespace(runId, drillName, egress);
    namespaces.set(runId, ns);
  }
  return ns;
}

export type KubeGcAction = GcAction<'namespace'>;

/**
 * Deletes the namespaces labelled `restoreproof.run` whose run may go (gcDecision: the
 * `restoreproof.expires-at` annotation recorded at creation has passed, or --older-than, and
 * never while the harness that created it runs) and waits for each to go. Anything without our
 * label is left alone.
 */
export async function collectNamespaces(options: GcOptions & { waitMs?: number } = {}): Promise<KubeGcAction[]> {
  const k = await kube();
  let list: V1Namespace[];
  try {
    list = (await k.core.listNamespace({ labelSelector: LABEL_RUN })).items;
  } catch (err) {
    throw kubeError(err, 'listing namespaces', k.server);
  }
  const actions: KubeGcAction[] = [];
  for (const ns of list) {
    const name = ns.metadata?.name ?? '';
    const annotations = ns.metadata?.annotations ?? {};
    const at = annotations[LABEL_EXPIRES] ?? '';
    const run = ns.metadata?.labels?.[LABEL_RUN] ?? '';
    const runId = annotations['restoreproof.run-id'] ?? run;
    const decision = gcDecision({ runId, expiresAt: at, startedAt: runStartedAt(runId) ?? ns.metadata?.creationTimestamp, harness: harnessFromLabels(annotations) }, options);
    const base = { kind: 'namespace' as const, id: ns.metadata?.uid ?? name, name, run, expiresAt: at };
    if (!decision.remove) {
      actions.push({ ...base, action: 'kept', reason: decision.reason });
      continue;
    }
    if (options.dryRun) {
      actions.push({ ...base, action: 'removed', reason: decision.reason });
      continue;
    }
    const result = await deleteNamespaceAndWait(name, options.waitMs ?? deleteTimeoutMs());
    actions.push(result.ok ? { ...base, action: 'removed', reason: decision.reason } : { ...base, action: 'failed', reason: result.error });
  }
  return actions;
}

/** Deletes the namespaces of one run (the reaper, once the run's harness died); returns how many it found and what could not be removed. */
export async function removeRunNamespaces(runId: string): Promise<{ found: number; left: string[] }> {
  const k = await kube();
  const list = (await k.core.listNamespace({ labelSelector: `${LABEL_RUN}=${labelValue(runId)}` })).items;
  const left: string[] = [];
  for (const ns of list) {
    const name = ns.metadata?.name ?? '';
    if (ns.metadata?.annotations?.['restoreproof.run-id'] !== runId) continue;
    const result = await deleteNamespaceAndWait(name, deleteTimeoutMs());
    if (!result.ok) left.push(`namespace ${name}: ${result.error}`);
  }
  return { found: list.length, left };
}
