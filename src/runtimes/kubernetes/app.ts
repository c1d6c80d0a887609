import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { pack as tarPack } from 'tar-stream';
import type { StoreAddress } from '../../app/env.ts';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import { parseDuration } from '../../util/duration.ts';
import { redact } from '../../util/redact.ts';
import { LABEL_ROLE } from '../shared/labels.ts';
import { appRoot, defaultAppPort, resolveAppImage } from '../shared/images.ts';
import { addPath } from '../shared/tar.ts';
import type { AppRequest, AppTaskResult, ResourceRecord, Runtime, StartedApp, StartedStore } from '../types.ts';
import { kube, kubeError, statusOf, type Kube } from './client.ts';
import { runNamespace, type RunNamespace } from './namespace.ts';
import { createPod, fatalWaiting, readPod, waitRunning } from './pods.ts';
import { KubeStore, PodForward, READY_FILE, podExec, podLogTail, stagingInitContainer, type ExecTarget } from './store.ts';
import { Teardown } from '../shared/teardown.ts';

/** The NetworkPolicy that opens the stores to the app's pods (and only to them) under the namespace's default deny. */
export const APP_NETWORK_POLICY = 'restoreproof-app-to-stores';

/** In the run's namespace the app reaches a store at its pod IP: no cluster DNS or kube-proxy needed. */
const podAddress: StoreAddress = (store: StartedStore) => (store instanceof KubeStore ? store.podAddress : { host: store.endpoint.host, port: store.endpoint.port });

type Role = 'app' | 'migrate';
const objectName = (role: Role) => (role === 'app' ? 'app' : 'app-migrate');

interface AppPodOptions {
  role: Role;
  image: string;
  command?: string[];
  cwd: boolean;
  port?: number;
  secret: string;
  env: Record<string, string>;
  labels: Record<string, string>;
}

/** The app's pod: its container (env from the Secret), and a staging init container when `cwd` is copied in first. */
function appPodSpec(o: AppPodOptions): V1PodSpec {
  const mounts = o.cwd ? [{ name: 'app', mountPath: appRoot }] : [];
  const container: V1Container = {
    name: 'app',
    image: o.image,
    imagePullPolicy: 'IfNotPresent',
    // As on containers, the command replaces the image's CMD and keeps its ENTRYPOINT.
    ...(o.command ? { args: o.command } : {}),
    ...(o.cwd ? { workingDir: appRoot } : {}),
    env: Object.entries(o.env).map(([name, value]) => ({ name, value })),
    envFrom: [{ secretRef: { name: o.secret } }],
    ...(o.port ? { ports: [{ containerPort: o.port, name: 'http' }], readinessProbe: { tcpSocket: { port: o.port }, periodSeconds: 1, failureThreshold: 1 } } : {}),
    volumeMounts: mounts,
  };
  return {
    restartPolicy: o.role === 'app' ? 'Always' : 'Never',
    terminationGracePeriodSeconds: 1,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    ...(o.cwd ? { initContainers: [stagingInitContainer(o.image, mounts)] } : {}),
    containers: [container],
    volumes: o.cwd ? [{ name: 'app', emptyDir: {} }, { name: 'ready', emptyDir: {} }] : [],
  };
}

/** Streams `cwd` into the staging container's /srv/app, then lets the app container start. */
async function stageCwd(target: ExecTarget, dir: string, signal: AbortSignal): Promise<void> {
  const archive = tarPack();
  const feeding = (async () => {
    for (const entry of (await readdir(dir)).sort()) await addPath(archive, join(dir, entry), entry, false);
    archive.finalize();
  })().catch((err: Error) => archive.destroy(err));
  // Not `-C /`: the image's user may own nothing above /srv/app, so no directory metadata is set there.
  const untar = await podExec(target, ['tar', '-x', '-f', '-', '-C', appRoot, '--no-same-owner', '--no-overwrite-dir', '-m'], { stdin: archive as unknown as Readable, signal });
  await feeding;
  if (untar.exitCode !== 0) throw new RestoreproofError('E_KUBE_STAGE', `copying ${dir} into pod ${target.namespace}/${target.pod} failed (tar exit code ${untar.exitCode}): ${redact(untar.stderr.trim().split('\n').slice(-5).join('\n'))}`, { hint: 'the app image needs sh and tar to receive cwd' });
  const done = await podExec(target, ['sh', '-c', `chmod -R a+rwX ${appRoot} && touch ${READY_FILE}`], { signal });
  if (done.exitCode !== 0) throw new RestoreproofError('E_KUBE_STAGE', `pod ${target.namespace}/${target.pod}: finishing the staging failed: ${done.stderr.trim()}`);
}

/** The Secret with the resolved env: values (store passwords, tokens) are never in the pod spec. */
async function createEnvSecret(k: Kube, ns: RunNamespace, name: string, env: Record<string, string>, labels: Record<string, string>): Promise<void> {
  await k.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name, labels }, type: 'Opaque', stringData: env } }).catch((err) => {
    throw kubeError(err, `creating Secret ${name} in ${ns.name}`, k.server);
  });
}

/** Opens the stores' ports to pods labelled as the app (role app or migrate); everything else stays denied. */
async function allowAppToStores(k: Kube, ns: RunNamespace, labels: Record<string, string>): Promise<void> {
  const appPods = { matchExpressions: [{ key: LABEL_ROLE, operator: 'In', values: ['app', 'migrate'] }] };
  try {
    await k.networking.createNamespacedNetworkPolicy({
      namespace: ns.name,
      body: {
        metadata: { name: APP_NETWORK_POLICY, labels },
        spec: {
          podSelector: {},
          policyTypes: ['Ingress', 'Egress'],
          ingress: [{ _from: [{ podSelector: appPods }] }],
          egress: [{ to: [{ podSelector: {} }] }],
        },
      },
    });
  } catch (err) {
    if (statusOf(err) !== 409) throw kubeError(err, `creating NetworkPolicy ${APP_NETWORK_POLICY} in ${ns.name}`, k.server);
  }
}

/** The pod the Deployment made (none yet: undefined). */
async function findPod(k: Kube, namespace: string, selector: string): Promise<V1Pod | undefined> {
  const pods = (await k.core.listNamespacedPod({ namespace, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
  return pods.sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')))[0];
}

/** Log lines of the app container; after a restart, those of the run that died. */
async function appLog(target: ExecTarget, previous: boolean): Promise<string> {
  if (!previous) return podLogTail(target);
  try {
    const k = await kube();
    return redact(String(await k.core.readNamespacedPodLog({ name: target.pod, namespace: target.namespace, container: target.container, tailLines: 20, previous: true })).trim()) || '(no output)';
  } catch {
    return podLogTail(target);
  }
}

/**
 * Keeps the app's last log lines at hand for the http checks' failure messages. Polled rather than
 * followed: client-node's follow stream throws an unhandled error when it is aborted.
 */
function pollLog(target: ExecTarget): { text: () => string; stop: () => void } {
  let last = '';
  let stopped = false;
  const poll = () =>
    void kube()
      .then((k) => k.core.readNamespacedPodLog({ name: target.pod, namespace: target.namespace, container: target.container, tailLines: 200 }))
      .then((log) => {
        if (!stopped) last = String(log);
      }, () => {});
  poll();
  const timer = setInterval(poll, 1000);
  timer.unref();
  return {
    text: () => last,
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** What the app and its migration start with: the image, the run's namespace (acquired), their labels, names and Secret. */
async function appObjects(request: Pick<AppRequest, 'runId' | 'drillName' | 'egress'>, spec: { image?: string }, role: Role) {
  const { image } = resolveAppImage(spec);
  const ns = runNamespace(request.runId, request.drillName, request.egress);
  await ns.acquire();
  const name = ns.freeName(objectName(role));
  return { image, ns, labels: { ...ns.labels(), [LABEL_ROLE]: role }, name, secret: `${name}-env` };
}

/**
 * The app as a Deployment (`app`) with a Service in the run's namespace. Its env is a Secret; stores
 * are reached at their pod IPs; `cwd` is streamed in through a staging init container. It is ready
 * when its pod is Ready (a TCP readiness probe on the port), and the harness reaches it through a
 * port-forward. A crash or a restart during start-up fails with the container's last log lines.
 */
export const startKubeApp: NonNullable<Runtime['startApp']> = async (request: AppRequest): Promise<StartedApp> => {
  const { spec, signal } = request;
  const k = await kube();
  const port = spec.port ?? defaultAppPort;
  const { image, ns, labels, name, secret } = await appObjects(request, spec, 'app');
  const records: ResourceRecord[] = [
    { kind: 'deployment', id: `${ns.name}/${name}`, store: 'app', image },
    { kind: 'service', id: `${ns.name}/${name}`, store: 'app' },
    { kind: 'secret', id: `${ns.name}/${secret}`, store: 'app' },
    { kind: 'networkpolicy', id: `${ns.name}/${APP_NETWORK_POLICY}`, store: 'app' },
  ];
  ns.track(...records);
  const forward: { current?: PodForward } = {};
  let log: ReturnType<typeof pollLog> | undefined;
  const teardown = new Teardown(async () => {
    log?.stop();
    await forward.current?.close();
    await ns.release();
  });
  const stop = () => teardown.stop();
  const what = spec.command ? `${spec.command.join(' ')} in ${image}` : image;
  try {
    const env = await request.env(podAddress, port);
    await createEnvSecret(k, ns, secret, env, labels);
    await allowAppToStores(k, ns, ns.labels());
    const template = appPodSpec({ role: 'app', image, ...(spec.command ? { command: spec.command } : {}), cwd: Boolean(spec.cwd), port, secret, env: { PORT: String(port), HOST: '0.0.0.0', RESTOREPROOF_RUN_ID: request.runId }, labels });
    await k.apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name, labels },
        spec: { replicas: 1, selector: { matchLabels: { [LABEL_ROLE]: 'app' } }, strategy: { type: 'Recreate' }, template: { metadata: { labels }, spec: template } },
      },
    }).catch((err) => {
      throw kubeError(err, `creating Deployment ${name} in ${ns.name}`, k.server);
    });
    await k.core.createNamespacedService({ namespace: ns.name, body: { metadata: { name, labels }, spec: { selector: { [LABEL_ROLE]: 'app' }, ports: [{ port, targetPort: port, name: 'http' }] } } }).catch((err) => {
      throw kubeError(err, `creating Service ${name} in ${ns.name}`, k.server);
    });

    const timeout = spec.startTimeout ?? '2m';
    const deadline = Date.now() + parseDuration(timeout);
    const selector = `${LABEL_ROLE}=app`;
    let pod: V1Pod | undefined;
    while (!(pod = await findPod(k, ns.name, selector).catch((err) => { throw kubeError(err, `listing pods in ${ns.name}`, k.server); }))) {
      signal.throwIfAborted();
      if (Date.now() > deadline) throw new RestoreproofError('E_APP_START', `Deployment ${ns.name}/${name} made no pod within ${timeout}`, { hint: 'is the controller-manager running? kubectl -n ' + ns.name + ' describe deployment ' + name });
      await new Promise((r) => setTimeout(r, 250));
    }
    const target: ExecTarget = { namespace: ns.name, pod: pod.metadata!.name!, container: 'app' };
    if (spec.cwd) {
      await waitRunning({ ...target, container: 'stage' }, true, signal, deadline);
      await stageCwd({ ...target, container: 'stage' }, resolve(request.drillDir, spec.cwd), signal);
    }
    for (;;) {
      signal.throwIfAborted();
      const current = await readPod(target);
      const status = current.status?.containerStatuses?.find((c) => c.name === 'app');
      const waiting = status?.state?.waiting;
      if (waiting && /ErrImagePull|ImagePullBackOff|InvalidImageName/.test(waiting.reason ?? '')) {
        throw new RestoreproofError('E_IMAGE', `app image ${image}: ${waiting.reason}: ${waiting.message ?? ''}`.trim(), { hint: 'make the image pullable by the cluster, or name another with spec.app.image, RESTOREPROOF_IMAGE_APP or the image map key "app"' });
      }
      const died = status?.state?.terminated ?? (status?.restartCount ? status.lastState?.terminated : undefined);
      if (died || (waiting && fatalWaiting(waiting, /CrashLoopBackOff|CreateContainerError|CreateContainerConfigError|RunContainerError/))) {
        const how = died ? `exit code ${died.exitCode}${died.reason && died.reason !== 'Error' ? `, ${died.reason}` : ''}` : `${waiting!.reason}: ${waiting!.message ?? ''}`;
        throw new RestoreproofError('E_APP_START', `app (${what}) exited during start-up (${how}); last log lines:\n${await appLog(target, !status?.state?.terminated && Boolean(status?.restartCount))}`, {
          hint: `the app must listen on $PORT (${port}) on 0.0.0.0 ($HOST) in its pod; stores are reached through \${stores.<name>.host}/.port (their pod IPs)`,
        });
      }
      if (current.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
      if (Date.now() > deadline) {
        throw new RestoreproofError('E_APP_START', `app (${what}) did not become Ready (accept connections on port ${port}) within ${timeout}; last log lines:\n${await podLogTail(target)}`, {
          hint: `the app must listen on $PORT (${port}) on 0.0.0.0 ($HOST) in its pod`,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    records.push({ kind: 'pod', id: `${ns.name}/${target.pod}`, store: 'app', image });
    ns.track(records.at(-1)!);
    log = pollLog(target);
    forward.current = new PodForward(target, port);
    const local = await forward.current.start();
    const baseUrl = `http://127.0.0.1:${local}`;
    records[0]!.ports = { [`${port}/tcp`]: `127.0.0.1:${local} (port-forward)` };
    return {
      baseUrl,
      resources: records,
      get running() {
        return !teardown.begun;
      },
      logTail: (lines = 20) => redact((log?.text() ?? '').trimEnd().split('\n').slice(-lines).join('\n')),
      connectionHelp: () => [
        `app: Deployment ${ns.name}/${name} (${image}), service ${name}.${ns.name}:${port}`,
        `  reach it: kubectl -n ${ns.name} port-forward service/${name} ${port}:${port}; its log: kubectl -n ${ns.name} logs deployment/${name}`,
        `  its env (stores' credentials) is Secret ${ns.name}/${secret} (not printed here)`,
      ],
      keep: () => teardown.keep(),
      stop,
    };
  } catch (err) {
    await stop();
    if (err instanceof RestoreproofError || signal.aborted) throw err;
    throw kubeError(err, `starting the app in ${ns.name}`, k.server);
  }
};

/** The migration: a pod of the app's image (restartPolicy Never) in the run's namespace, run to completion, then deleted. */
export const runKubeAppTask: NonNullable<Runtime['runAppTask']> = async (request): Promise<AppTaskResult> => {
  const { spec } = request;
  const t0 = performance.now();
  const k = await kube();
  const { image, ns, labels, name, secret } = await appObjects(request, spec, 'migrate');
  const records: ResourceRecord[] = [
    { kind: 'pod', id: `${ns.name}/${name}`, store: 'app', image },
    { kind: 'secret', id: `${ns.name}/${secret}`, store: 'app' },
  ];
  ns.track(...records);
  const limit = spec.timeout ?? '10m';
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(parseDuration(limit))]);
  const target: ExecTarget = { namespace: ns.name, pod: name, container: 'app' };
  try {
    await createEnvSecret(k, ns, secret, await request.env(podAddress), labels);
    await allowAppToStores(k, ns, ns.labels());
    await createPod(ns.name, { metadata: { name, labels }, spec: appPodSpec({ role: 'migrate', image, command: spec.command, cwd: Boolean(spec.cwd), secret, env: { RESTOREPROOF_RUN_ID: request.runId }, labels }) }, signal);
    if (spec.cwd) {
      await waitRunning({ ...target, container: 'stage' }, true, signal, Date.now() + parseDuration(limit));
      await stageCwd({ ...target, container: 'stage' }, resolve(request.drillDir, spec.cwd), signal);
    }
    for (;;) {
      if (signal.aborted) {
        if (request.signal.aborted) throw request.signal.reason ?? new Error('aborted');
        return { exitCode: null, signal: 'SIGKILL', log: `${await podLogTail(target)}\n(killed: no exit within ${limit})`.trim(), durationMs: performance.now() - t0 };
      }
      const pod = await readPod(target);
      const state = pod.status?.containerStatuses?.find((c) => c.name === 'app')?.state;
      const waiting = state?.waiting;
      if (waiting && fatalWaiting(waiting, /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerError|CreateContainerConfigError/)) {
        throw new RestoreproofError(/Image/.test(waiting.reason ?? '') ? 'E_IMAGE' : 'E_APP_MIGRATE', `migration pod ${ns.name}/${name}: ${waiting.reason}: ${waiting.message ?? ''}`.trim());
      }
      if (state?.terminated) {
        return { exitCode: state.terminated.exitCode, signal: null, log: await podLogTail(target), durationMs: performance.now() - t0 };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    if (err instanceof RestoreproofError || request.signal.aborted) throw err;
    throw kubeError(err, `running the migration in ${ns.name}`, k.server);
  } finally {
    // Gone now rather than with the namespace, so the app starts against stores the migration no longer touches.
    await k.core.deleteNamespacedPod({ name, namespace: ns.name, gracePeriodSeconds: 0 }).catch((err) => {
      if (statusOf(err) !== 404) records[0]!.error = errorMessage(err);
    });
    await ns.release();
  }
};
