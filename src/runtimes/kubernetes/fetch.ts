import { isIP } from 'node:net';
import type { V1Container, V1NetworkPolicy } from '@kubernetes/client-node';
import { ArtefactError, RestoreproofError } from '../../errors.ts';
import type { VerifiedArtefact } from '../../engines/types.ts';
import { checkPodFetch } from '../../sources/pod-fetch.ts';
import { resolveFetchImage } from '../shared/images.ts';
import { fatalWaiting, readPod } from './pods.ts';
import { stageRoot } from '../shared/tar.ts';
import { podExec, podLogTail, type ExecTarget } from './store.ts';

/**
 * Runs in the init container: downloads the presigned URL to $DEST, then writes "<sha256> <bytes>"
 * beside it. curl or wget, whichever the image has; the URL stays in the environment, out of argv logs.
 */
const FETCH_SCRIPT = [
  'set -eu',
  'mkdir -p "$(dirname "$DEST")"',
  'if command -v curl >/dev/null 2>&1; then curl -fsS --retry 3 --retry-connrefused -o "$DEST" "$URL"',
  'elif command -v wget >/dev/null 2>&1; then wget -q -O "$DEST" "$URL"',
  'else echo "the fetch image has neither curl nor wget" >&2; exit 127; fi',
  'echo "$(sha256sum "$DEST" | cut -d" " -f1) $(wc -c < "$DEST")" > "$DEST.sha256"',
].join('\n');

/** The artefacts of a store that its pod downloads itself, with the names of their init containers. */
export interface PodFetchPlan {
  secret: string;
  image: string;
  items: { artefact: VerifiedArtefact; container: string; key: string }[];
}

export function podFetchPlan(objectName: string, artefacts: VerifiedArtefact[]): PodFetchPlan | undefined {
  const fetched = artefacts.filter((a) => a.info.fetchedInPod);
  if (!fetched.length) return undefined;
  return {
    secret: `${objectName}-fetch`,
    image: resolveFetchImage().image,
    items: fetched.map((artefact) => ({ artefact, container: `fetch-${artefact.step}`, key: `url-${artefact.step}` })),
  };
}

/** The presigned URLs, for the plan's Secret (the init containers read them from there). */
export function podFetchSecretData(plan: PodFetchPlan): Record<string, string> {
  return Object.fromEntries(plan.items.map((i) => [i.key, i.artefact.info.fetchedInPod!.url]));
}

export function podFetchContainers(plan: PodFetchPlan): V1Container[] {
  return plan.items.map((i) => ({
    name: i.container,
    image: plan.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', '-c', FETCH_SCRIPT],
    env: [
      { name: 'DEST', value: i.artefact.info.path },
      { name: 'URL', valueFrom: { secretKeyRef: { name: plan.secret, key: i.key } } },
    ],
    volumeMounts: [{ name: 'stage', mountPath: stageRoot }],
  }));
}

/**
 * The default-deny policy also stops the download: this one lets the store's pod reach the S3
 * endpoint (its address when the URL names an IP, else its port anywhere, plus DNS).
 */
export function podFetchPolicy(name: string, labels: Record<string, string>, podLabels: Record<string, string>, plan: PodFetchPlan): V1NetworkPolicy {
  const endpoints = new Map<string, { host: string; port: number }>();
  for (const { artefact } of plan.items) {
    const url = new URL(artefact.info.fetchedInPod!.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    endpoints.set(`${host}:${port}`, { host, port });
  }
  const egress = [...endpoints.values()].map(({ host, port }) => ({
    ...(isIP(host) ? { to: [{ ipBlock: { cidr: `${host}/${isIP(host) === 6 ? 128 : 32}` } }] } : {}),
    ports: [{ protocol: 'TCP', port }],
  }));
  if ([...endpoints.values()].some((e) => !isIP(e.host))) egress.push({ ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] });
  return { metadata: { name, labels }, spec: { podSelector: { matchLabels: podLabels }, policyTypes: ['Egress'], egress } };
}

/** Waits for every fetch init container to finish; a failed download fails the drill naming the artefact. */
export async function waitFetched(target: ExecTarget, plan: PodFetchPlan, signal: AbortSignal, deadline: number): Promise<void> {
  const pending = new Map(plan.items.map((i) => [i.container, i]));
  while (pending.size) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new RestoreproofError('E_PROVISION', `pod ${target.namespace}/${target.pod} did not finish downloading ${[...pending.values()].map((i) => i.artefact.info.ref).join(', ')} in time`, { hint: 'a large artefact needs a longer RESTOREPROOF_KUBE_START_TIMEOUT_MS' });
    const statuses = (await readPod(target)).status?.initContainerStatuses ?? [];
    for (const [container, item] of pending) {
      const state = statuses.find((s) => s.name === container)?.state;
      const ref = item.artefact.info.ref;
      if (state?.terminated) {
        if (state.terminated.exitCode !== 0) {
          const t = state.terminated;
          const log = await podLogTail({ ...target, container }, 5);
          throw new ArtefactError(ref, `the store's pod could not download it (init container ${container} exited with code ${t.exitCode}${t.reason ? `, ${t.reason}` : ''}${t.message ? `: ${t.message.trim()}` : ''}): ${log}`, 'check that the endpoint in the presigned URL is reachable from the cluster, and the fetch image (RESTOREPROOF_IMAGE_FETCH)');
        }
        pending.delete(container);
      } else if (fatalWaiting(state?.waiting, /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError|CreateContainerError/)) {
        throw new RestoreproofError('E_IMAGE', `pod ${target.namespace}/${target.pod}: the fetch container for ${ref} cannot start: ${state!.waiting!.reason}: ${state!.waiting!.message ?? ''}`.trim(), { hint: `make ${plan.image} pullable by the cluster, or set RESTOREPROOF_IMAGE_FETCH (an image with sh, curl or wget, and sha256sum)` });
      }
    }
    if (pending.size) await new Promise((r) => setTimeout(r, 300));
  }
}

/** Reads the digest each init container wrote and checks it against the source, before any restore. */
export async function verifyFetched(target: ExecTarget, plan: PodFetchPlan, signal: AbortSignal): Promise<void> {
  for (const { artefact } of plan.items) {
    const run = await podExec(target, ['cat', `${artefact.info.path}.sha256`], { signal });
    const [sha256, bytes] = run.stdout.trim().split(/\s+/);
    if (run.exitCode !== 0 || !/^[0-9a-f]{64}$/.test(sha256 ?? '') || !/^\d+$/.test(bytes ?? '')) {
      throw new ArtefactError(artefact.info.ref, `the store's pod left no digest for it (${run.stderr.trim() || run.stdout.trim() || `exit code ${run.exitCode}`})`);
    }
    checkPodFetch(artefact.info, { sha256: sha256!, size: Number(bytes) });
  }
}
