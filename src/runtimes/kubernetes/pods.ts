import type { V1Pod } from '@kubernetes/client-node';
import { RestoreproofError } from '../../errors.ts';
import { apiMessage, kube, kubeError, statusOf } from './client.ts';
import { podLogTail, type ExecTarget } from './store.ts';

/**
 * A container the kubelet cannot start for good. Not "failed to sync secret cache": right after a
 * pod is bound, the kubelet may not yet be allowed to read its Secret (Node authorizer), and retries.
 */
export function fatalWaiting(waiting: { reason?: string; message?: string } | undefined, reasons: RegExp): boolean {
  if (!waiting || !reasons.test(waiting.reason ?? '')) return false;
  return !(waiting.reason === 'CreateContainerConfigError' && /failed to sync (secret|configmap) cache/i.test(waiting.message ?? ''));
}

export const startTimeoutMs = () => Number(process.env.RESTOREPROOF_KUBE_START_TIMEOUT_MS) || 300_000;

/** The pod as the API server has it now; an API failure names the pod and the server. */
export async function readPod(target: Pick<ExecTarget, 'namespace' | 'pod'>): Promise<V1Pod> {
  const k = await kube();
  try {
    return await k.core.readNamespacedPod({ name: target.pod, namespace: target.namespace });
  } catch (err) {
    throw kubeError(err, `reading pod ${target.namespace}/${target.pod}`, k.server);
  }
}

/** Waits until the named container runs; a pod that cannot start fails at once with the reason (image pull, crash, config). */
export async function waitRunning(target: ExecTarget, init: boolean, signal: AbortSignal, deadline: number): Promise<V1Pod> {
  let last = 'pending';
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    const pod = await readPod(target);
    const statuses = init ? pod.status?.initContainerStatuses : pod.status?.containerStatuses;
    const state = statuses?.find((c) => c.name === target.container)?.state;
    if (state?.running) return pod;
    const waiting = state?.waiting;
    if (waiting && fatalWaiting(waiting, /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError|CreateContainerError|CrashLoopBackOff|RunContainerError/)) {
      throw new RestoreproofError(/Image/.test(waiting.reason ?? '') ? 'E_IMAGE' : 'E_PROVISION', `pod ${target.namespace}/${target.pod}: ${waiting.reason}: ${waiting.message ?? ''}`.trim(), /Image/.test(waiting.reason ?? '') ? { hint: 'make the image pullable by the cluster (imagePullSecrets under kubernetes:, or the image map)' } : {});
    }
    if (state?.terminated || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') {
      const t = state?.terminated;
      throw new RestoreproofError('E_PROVISION', `pod ${target.namespace}/${target.pod} stopped during start-up (${t ? `exit code ${t.exitCode}${t.reason ? `, ${t.reason}` : ''}` : pod.status?.phase}); its last log lines:\n${await podLogTail(target)}`);
    }
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    last = waiting?.reason ? `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` : scheduled?.status === 'False' ? `unschedulable: ${scheduled.message}` : (pod.status?.phase ?? 'pending');
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new RestoreproofError('E_PROVISION', `pod ${target.namespace}/${target.pod} did not start within ${startTimeoutMs() / 1000}s (${last})`);
}

/**
 * Creates the pod. Right after a namespace is created, its `default` ServiceAccount may not exist
 * yet (the controller-manager makes it) and admission refuses pods until it does: that is retried.
 */
export async function createPod(namespace: string, body: V1Pod, signal: AbortSignal): Promise<void> {
  const k = await kube();
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await k.core.createNamespacedPod({ namespace, body });
      return;
    } catch (err) {
      const waitingForAccount = statusOf(err) === 403 && /service ?account/i.test(apiMessage(err)) && !/cannot create resource/.test(apiMessage(err));
      if (!waitingForAccount || Date.now() > deadline) throw kubeError(err, `creating pod ${body.metadata?.name} in ${namespace}`, k.server);
    }
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 250));
  }
}
