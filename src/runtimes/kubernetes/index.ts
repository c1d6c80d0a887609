import { posix } from 'node:path';
import type { V1Container, V1Pod, V1ResourceRequirements } from '@kubernetes/client-node';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import type { KubernetesStoreOptions, StoreSpec } from '../../drill/types.ts';
import { LABEL_STORE } from '../shared/labels.ts';
import { enginesWith, serverOf } from '../hosted.ts';
import type { ContainerRecipe } from '../servers.ts';
import { describedImage, resolveFetchImage, resolveImage } from '../shared/images.ts';
import { parseMemory } from '../shared/memory.ts';
import { addEntry, addPath } from '../shared/tar.ts';
import type { ProvisionRequest, ResourceRecord, Runtime, StartedStore, StoreEndpoint } from '../types.ts';
import { dnsLabel, kube, kubeError } from './client.ts';
import { EGRESS_POLICY, namespaceName, runNamespace } from './namespace.ts';
import { createPod, startTimeoutMs, waitRunning } from './pods.ts';
import { stageRoot } from '../shared/tar.ts';
import { KubeStore, PodForward, READY_FILE, podExec, podLogTail, podUntar, stagingInitContainer, type ExecTarget } from './store.ts';
import { runKubeAppTask, startKubeApp } from './app.ts';
import { podFetchContainers, podFetchPlan, podFetchPolicy, podFetchSecretData, verifyFetched, waitFetched } from './fetch.ts';
import { artefactSourceOf } from '../../sources/artefact-source.ts';


/** A Kubernetes object name that also works as a DNS-1035 label (Services need a leading letter). */
const objectName = (storeName: string) => dnsLabel(/^[a-z]/i.test(storeName) ? storeName : `s-${storeName}`);

/** `cpus`/`memory` of the portable `resources:` as limits, unless `kubernetes.resources` says it in Kubernetes' own terms. */
function resourcesFor(spec: StoreSpec): V1ResourceRequirements | undefined {
  const own = spec.kubernetes?.resources;
  if (own) return { ...(own.requests ? { requests: own.requests } : {}), ...(own.limits ? { limits: own.limits } : {}) };
  if (!spec.resources) return undefined;
  const limits: Record<string, string> = {};
  if (spec.resources.cpus) limits.cpu = String(spec.resources.cpus);
  if (spec.resources.memory) limits.memory = String(parseMemory(spec.resources.memory));
  return { limits };
}

/** The directories a recipe places files in before its server starts. */
const placedDirs = (recipe: ContainerRecipe): string[] => [...new Set([...(recipe.files ?? []), ...(recipe.directories ?? []), ...(recipe.contents ?? [])].map((f) => posix.dirname(f.target)))];

/** The pod of one store: its server container, and a staging init container when files must be there before it starts. */
export function podFor(options: { name: string; storeName: string; image: string; recipe: ContainerRecipe; secret: string; labels: Record<string, string>; k8s?: KubernetesStoreOptions; resources?: V1ResourceRequirements; fetches?: V1Container[] }): V1Pod {
  const { recipe, k8s } = options;
  const early = placedDirs(recipe);
  // The stage volume is mounted at stageRoot already: a file placed under it needs no volume of its own.
  const earlyDirs = early.filter((d) => d !== stageRoot && !d.startsWith(`${stageRoot}/`));
  const mounts = [{ name: 'stage', mountPath: stageRoot }, ...earlyDirs.map((d, i) => ({ name: `early-${i}`, mountPath: d }))];
  const volumes = [{ name: 'stage', emptyDir: {} }, { name: 'ready', emptyDir: {} }, ...earlyDirs.map((_, i) => ({ name: `early-${i}`, emptyDir: {} }))];
  return {
    metadata: { name: options.name, labels: options.labels },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // Stores resolve nothing; the node's resolver avoids depending on cluster DNS.
      dnsPolicy: 'Default',
      ...(k8s?.imagePullSecrets?.length ? { imagePullSecrets: k8s.imagePullSecrets.map((name) => ({ name })) } : {}),
      ...(k8s?.nodeSelector ? { nodeSelector: k8s.nodeSelector } : {}),
      ...(k8s?.tolerations ? { tolerations: k8s.tolerations } : {}),
      // Downloads first (fetch: pod), then the staging container that waits for files streamed in.
      ...(early.length || options.fetches?.length ? { initContainers: [...(options.fetches ?? []), ...(early.length ? [stagingInitContainer(options.image, mounts)] : [])] } : {}),
      containers: [{
        name: 'store',
        image: options.image,
        imagePullPolicy: 'IfNotPresent',
        ...(recipe.command ? { args: recipe.command } : {}),
        envFrom: [{ secretRef: { name: options.secret } }],
        ports: [{ containerPort: recipe.port, name: 'store' }],
        ...(options.resources ? { resources: options.resources } : {}),
        volumeMounts: mounts,
      }],
      volumes,
    },
  };
}

async function startStore(request: ProvisionRequest): Promise<StartedStore> {
  const { spec, storeName, signal } = request;
  const k = await kube();
  const { image } = resolveImage(spec);
  const recipe = serverOf(spec.engine, 'container', 'kubernetes').recipe(request);
  const ns = runNamespace(request.runId, request.drillName, request.egress);
  try {
    await ns.acquire();
  } catch (err) {
    await ns.release();
    throw err;
  }
  const name = objectName(storeName);
  const secretName = `${name}-credentials`;
  const labels = { ...ns.labels(), [LABEL_STORE]: dnsLabel(storeName) };
  const fetch = podFetchPlan(name, request.artefacts ?? []);
  const records: ResourceRecord[] = [
    ...ns.claimRecords(),
    { kind: 'secret', id: `${ns.name}/${secretName}`, store: storeName },
    ...(fetch ? [
      { kind: 'secret', id: `${ns.name}/${fetch.secret}`, store: storeName },
      { kind: 'networkpolicy', id: `${ns.name}/${fetch.secret}`, store: storeName },
    ] satisfies ResourceRecord[] : []),
    { kind: 'pod', id: `${ns.name}/${name}`, store: storeName, image },
    { kind: 'service', id: `${ns.name}/${name}`, store: storeName },
  ];
  ns.track(...records);
  const target: ExecTarget = { namespace: ns.name, pod: name, container: 'store' };
  const forward = new PodForward(target, recipe.port);
  try {
    const stringData = Object.fromEntries(Object.entries(recipe.env).filter(([, v]) => v !== ''));
    await k.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: secretName, labels }, type: 'Opaque', stringData } }).catch((err) => {
      throw kubeError(err, `creating Secret ${secretName} in ${ns.name}`, k.server);
    });
    if (fetch) {
      // fetch: pod: the init containers read their presigned URLs from a Secret and may reach the S3 endpoint.
      await k.core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: fetch.secret, labels }, type: 'Opaque', stringData: podFetchSecretData(fetch) } }).catch((err) => {
        throw kubeError(err, `creating Secret ${fetch.secret} in ${ns.name}`, k.server);
      });
      await k.networking.createNamespacedNetworkPolicy({ namespace: ns.name, body: podFetchPolicy(fetch.secret, labels, { [LABEL_STORE]: dnsLabel(storeName) }, fetch) }).catch((err) => {
        throw kubeError(err, `creating NetworkPolicy ${fetch.secret} in ${ns.name}`, k.server);
      });
    }
    const resources = resourcesFor(spec);
    const pod = podFor({ name, storeName, image, recipe, secret: secretName, labels, ...(spec.kubernetes ? { k8s: spec.kubernetes } : {}), ...(resources ? { resources } : {}), ...(fetch ? { fetches: podFetchContainers(fetch) } : {}) });
    await createPod(ns.name, pod, signal);
    await k.core.createNamespacedService({ namespace: ns.name, body: { metadata: { name, labels }, spec: { selector: { [LABEL_STORE]: dnsLabel(storeName) }, ports: [{ port: recipe.port, targetPort: recipe.port, name: 'store' }] } } }).catch((err) => {
      throw kubeError(err, `creating Service ${name} in ${ns.name}`, k.server);
    });
    const deadline = Date.now() + startTimeoutMs();
    if (fetch) await waitFetched(target, fetch, signal, deadline);
    if (pod.spec?.initContainers?.some((c) => c.name === 'stage')) {
      // Files the server needs before it starts (Redis: the snapshot and its config) go in through the staging container.
      const stage: ExecTarget = { ...target, container: 'stage' };
      await waitRunning(stage, true, signal, deadline);
      await podUntar(stage, async (archive) => {
        for (const dir of placedDirs(recipe)) {
          await addEntry(archive, { name: dir.slice(1), type: 'directory', mode: 0o777 });
        }
        for (const f of [...(recipe.files ?? []), ...(recipe.directories ?? [])]) await addPath(archive, f.source, f.target.slice(1));
        for (const c of recipe.contents ?? []) {
          await new Promise<void>((resolveEntry, reject) => archive.entry({ name: c.target.slice(1), mode: c.mode ?? 0o644 }, c.content, (err) => (err ? reject(err) : resolveEntry())));
        }
        archive.finalize();
      }, signal);
      const done = await podExec(stage, ['sh', '-c', `chmod -R a+rwX ${placedDirs(recipe).join(' ')} && touch ${READY_FILE}`], { signal });
      if (done.exitCode !== 0) throw new RestoreproofError('E_KUBE_STAGE', `pod ${ns.name}/${name}: finishing the staging failed: ${done.stderr.trim()}`);
    }
    const running = await waitRunning(target, false, signal, deadline);
    // The app pod reaches the store at its pod IP: it needs neither cluster DNS nor kube-proxy.
    const podAddress = { host: running.status?.podIP ?? `${name}.${ns.name}.svc`, port: recipe.port };
    const port = await forward.start();
    const endpoint: StoreEndpoint = { host: '127.0.0.1', port, user: recipe.user, password: recipe.password };
    records[records.length - 2]!.ports = { [`${recipe.port}/tcp`]: `127.0.0.1:${port} (port-forward)` };
    let version = '';
    let lastError = '';
    while (!version) {
      signal.throwIfAborted();
      if (Date.now() > deadline) throw new RestoreproofError('E_PROVISION', `store ${storeName} (${image}) did not answer queries through the port-forward within ${startTimeoutMs() / 1000}s (${lastError}); its last log lines:\n${await podLogTail(target)}`);
      try {
        version = (await recipe.probe(endpoint)) || 'unknown';
      } catch (err) {
        lastError = errorMessage(err);
        await waitRunning(target, false, signal, deadline);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    const store = new KubeStore({
      name: storeName,
      engine: spec.engine,
      image,
      target,
      endpoint,
      podAddress,
      version,
      namespace: ns,
      forward,
      records,
      toolEnv: recipe.toolEnv,
      url: (database) => recipe.url(endpoint, database),
      toolUrl: recipe.toolUrl,
      connectionHelp: () => [
        `${storeName}: pod ${ns.name}/${name} (${image}), service ${name}.${ns.name}:${recipe.port}`,
        `  reach it: kubectl -n ${ns.name} port-forward pod/${name} ${recipe.port}:${recipe.port}; a shell: kubectl -n ${ns.name} exec -it ${name} -- sh`,
        `  credentials: kubectl -n ${ns.name} get secret ${secretName} -o yaml (base64; not printed here)`,
        `  remove it: kubectl delete namespace ${ns.name} (or restoreproof gc --runtime kubernetes once its restoreproof.expires-at has passed)`,
      ],
    });
    await preflight(store, ['tar', ...recipe.tools], image);
    if (fetch) await verifyFetched(target, fetch, signal);
    if (recipe.versionFromTools) store.version = await recipe.versionFromTools(store);
    return store;
  } catch (err) {
    await forward.close();
    await ns.release();
    if (err instanceof RestoreproofError || signal.aborted) throw err;
    throw kubeError(err, `provisioning store ${storeName} in namespace ${ns.name}`, k.server);
  }
}

/** Every tool the restore runs (and tar, for staging) must be in the image: fail before any restore, naming what is missing. */
async function preflight(store: KubeStore, tools: string[], image: string): Promise<void> {
  const missing: string[] = [];
  for (const tool of tools) if ((await store.exec('sh', ['-c', `command -v ${tool}`])).exitCode !== 0) missing.push(tool);
  if (missing.length) {
    throw new RestoreproofError('E_PREFLIGHT', `store ${store.name}: image ${image} has no ${missing.join(', ')} (command -v ${missing[0]} failed); the restore runs the image's own tools in the pod`, {
      hint: `use an image that carries ${missing.join(' and ')}, or another runtime`,
    });
  }
}

/** Stores in pods of one namespace per run, through the Kubernetes API (kubeconfig with --context, or in-cluster). */
export const kubernetesRuntime: Runtime = {
  name: 'kubernetes',
  engines: enginesWith('container'),
  fetchesInPod: true,
  async describeProvision({ spec, storeName, drillName, egress }) {
    const described = describedImage(spec as StoreSpec);
    if ('problem' in described) return [described.problem];
    const { image, source } = described;
    const k8s = (spec as StoreSpec).kubernetes;
    const extras = [
      k8s?.imagePullSecrets?.length ? `imagePullSecrets ${k8s.imagePullSecrets.join(', ')}` : '',
      k8s?.nodeSelector ? `nodeSelector ${Object.entries(k8s.nodeSelector).map(([a, b]) => `${a}=${b}`).join(',')}` : '',
      k8s?.tolerations?.length ? `${k8s.tolerations.length} toleration(s)` : '',
    ].filter(Boolean);
    const podFetches = (spec as StoreSpec).restore.filter((step) => artefactSourceOf(step)?.fetch === 'pod').length;
    if (podFetches) extras.push(`${podFetches} fetch init container(s) from ${resolveFetchImage().image} download the artefact(s) through presigned URLs (Secret and egress NetworkPolicy ${objectName(storeName)}-fetch)`);
    return [
      `pod ${objectName(storeName)} from ${image} (${source}) with a Service and a credentials Secret in namespace ${namespaceName('000000', drillName).replace(/000000$/, '<run-id>')}${extras.length ? `; ${extras.join('; ')}` : ''}`,
      `namespace labelled restoreproof.run=<run-id>, restoreproof.drill, annotated restoreproof.expires-at; default-deny NetworkPolicy${egress ? ` and ${EGRESS_POLICY} (spec.network.egress)` : ''}; reached through port-forward; deleted and waited for at teardown`,
    ];
  },
  async provision(request) {
    return startStore(request);
  },
  startApp: startKubeApp,
  runAppTask: runKubeAppTask,
};
