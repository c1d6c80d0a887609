// Network isolation on the kubernetes runtime, proven on the test bed cluster with its NetworkPolicy
// enforcer (kube-router, firewall only). Connections are attempted from inside the pods (bash's
// /dev/tcp, in every test bed image) to a listener pod in another namespace, a server of this test
// process on the node's address, and the kubelet. A pod in a namespace without policies reaches all
// three (the positive control: the probe works and the targets answer), a store pod of a run
// reaches none, the app reaches its store and nothing else, and the store accepts no one but the app.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { StartedApp, StartedStore } from '../../src/runtimes/types.ts';
import { kubernetesRuntime } from '../../src/runtimes/kubernetes/index.ts';
import { KubeStore, podExec, type ExecTarget } from '../../src/runtimes/kubernetes/store.ts';
import { createPod, waitRunning } from '../../src/runtimes/kubernetes/pods.ts';
import { assertQueryAnswers, bareStoreSpec, echoAppSpec, firstLine, listenerScript } from '../support/network.ts';
import { repoRoot, requireBackends, testbed, testbedImageEnv, useTestbedBinaries, useTestbedCluster } from '../support/backends.ts';

interface Target {
  what: string;
  host: string;
  port: number;
}

/** bash's /dev/tcp in the pod: 0 connected, 1 refused or unreachable, 124 no answer within 4 s. */
const probeScript = 'timeout 4 bash -c \'exec 3<>"/dev/tcp/$0/$1"\' "$1" "$2"';

describe('network isolation on the kubernetes runtime (test bed cluster with its NetworkPolicy enforcer)', function () {
  const tag = randomBytes(3).toString('hex');
  const outside = `rp-test-outside-${tag}`;
  const control = `rp-test-control-${tag}`;
  const signal = new AbortController().signal;
  let core: CoreV1Api;
  let restoreEnv: (() => void) | undefined;
  let host: Server | undefined;
  let prober: ExecTarget;
  let listener: Target;
  let hostServer: Target;
  let kubelet: Target;
  const started: { stop(): Promise<void> }[] = [];

  const outsideTargets = () => [listener, hostServer, kubelet];

  /** Exit code of a connection attempt from inside a pod (never null: the probe itself must have run). */
  async function connect(from: ExecTarget, to: Target): Promise<number> {
    const run = await podExec(from, ['sh', '-c', probeScript, 'probe', to.host, String(to.port)], { signal });
    assert.ok(run.exitCode === 0 || run.exitCode === 1 || run.exitCode === 124, `probe from ${from.namespace}/${from.pod} to ${to.what} did not run: exit ${run.exitCode}, ${run.stderr.trim()}`);
    return run.exitCode!;
  }

  /** A pod of the test bed's app image (it has node and bash) in a namespace owned by this test, running. */
  async function testPod(namespace: string, name: string, command: string[]): Promise<{ target: ExecTarget; ip: string }> {
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'restoreproof.test': 'isolation' } } } }).catch((err) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
    const image = testbedImageEnv().RESTOREPROOF_IMAGE_APP!;
    await createPod(namespace, {
      metadata: { name, labels: { app: name } },
      spec: { automountServiceAccountToken: false, terminationGracePeriodSeconds: 0, enableServiceLinks: false, containers: [{ name: 'main', image, imagePullPolicy: 'IfNotPresent', command }] },
    }, signal);
    const target = { namespace, pod: name, container: 'main' };
    const pod = await waitRunning(target, false, signal, Date.now() + 120_000);
    return { target, ip: pod.status!.podIP! };
  }

  const provision = async (runId: string, egress: boolean) => {
    const store = await kubernetesRuntime.provision({ runId, drillName: 'isolation', storeName: 'db', spec: bareStoreSpec, drillDir: repoRoot, signal, egress });
    started.push(store);
    assert.ok(store instanceof KubeStore);
    return store;
  };
  const storeTarget = (store: StartedStore): ExecTarget => {
    const pod = store.resources.find((r) => r.kind === 'pod')!.id.split('/');
    return { namespace: pod[0]!, pod: pod[1]!, container: 'store' };
  };

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', 'postgres');
    const cluster = testbed().backends.kubernetes as { networkPolicy?: string };
    assert.match(cluster.networkPolicy ?? '', /^kube-router /, 'the test bed cluster has no NetworkPolicy enforcer: run scripts/testbed up kubernetes');
    useTestbedBinaries();
    const { kubeconfig, restore } = useTestbedCluster();
    restoreEnv = restore;
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    core = config.makeApiClient(CoreV1Api);
    const node = (await core.listNode()).items[0]!;
    const nodeIp = node.status!.addresses!.find((a) => a.type === 'InternalIP')!.address;
    kubelet = { what: 'the kubelet on the node', host: nodeIp, port: node.status!.daemonEndpoints!.kubeletEndpoint!.Port };
    host = createServer((s) => s.on('error', () => {}).end('pong\n'));
    await new Promise<void>((r) => host!.listen(0, '0.0.0.0', () => r()));
    hostServer = { what: 'a server of this test on the node\'s address', host: nodeIp, port: (host.address() as { port: number }).port };
    // kube-router lets pods reach the node's NodePort range whatever the policies say: not a target.
    assert.ok(hostServer.port < 30000 || hostServer.port > 32767, `the test server got port ${hostServer.port}, in the NodePort range`);
    const l = await testPod(outside, 'listener', ['node', '-e', listenerScript('pong', '7777')]);
    listener = { what: `a listener pod in namespace ${outside}`, host: l.ip, port: 7777 };
    prober = (await testPod(control, 'prober', ['sleep', '3600'])).target;
  });

  after(async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    for (const name of [outside, control]) await core?.deleteNamespace({ name, gracePeriodSeconds: 0 }).catch(() => {});
    if (host) await new Promise((r) => host!.close(r));
    restoreEnv?.();
  });

  it('positive control: from a namespace without policies the probe connects to every target', async () => {
    for (const target of outsideTargets()) assert.equal(await connect(prober, target), 0, `control pod to ${target.what} (${target.host}:${target.port})`);
  });

  it('a store pod of a run reaches nothing outside its namespace; the harness still reaches it (port-forward)', async () => {
    const store = await provision(`isolation-${tag}-a`, false);
    const target = storeTarget(store);
    // The probe works in the store's pod: its own server answers on loopback.
    assert.equal(await connect(target, { what: 'its own server', host: '127.0.0.1', port: 5432 }), 0);
    for (const t of outsideTargets()) assert.notEqual(await connect(target, t), 0, `store pod reached ${t.what} (${t.host}:${t.port})`);
    // The harness's port-forward (through the kubelet, inside the pod's network namespace) still works.
    await assertQueryAnswers(store.url());
  });

  it('the app reaches its store and nothing else, and the store accepts only the app', async () => {
    const runId = `isolation-${tag}-b`;
    const store = await provision(runId, false);
    const storeIp = (store as KubeStore).podAddress;
    const app: StartedApp = await kubernetesRuntime.startApp!({
      runId, drillName: 'isolation', drillDir: repoRoot, signal, egress: false,
      spec: echoAppSpec,
      env: async () => ({}),
    });
    started.push(app);
    const appPod = app.resources.find((r) => r.kind === 'pod')!.id.split('/');
    const from: ExecTarget = { namespace: appPod[0]!, pod: appPod[1]!, container: 'app' };
    assert.equal(await connect(from, { what: 'its store', host: storeIp.host, port: storeIp.port }), 0, 'the app cannot reach its store');
    for (const t of outsideTargets()) assert.notEqual(await connect(from, t), 0, `app pod reached ${t.what} (${t.host}:${t.port})`);
    assert.notEqual(await connect(prober, { what: 'the store from another namespace', host: storeIp.host, port: storeIp.port }), 0, 'a pod outside the run reached the store');
    // The harness reaches the app through its port-forward.
    const { hostname, port } = new URL(app.baseUrl);
    assert.equal(await firstLine(hostname, Number(port)), 'ok');
  });

  it('with spec.network.egress the store pod reaches outside its namespace', async () => {
    const store = await provision(`isolation-${tag}-c`, true);
    assert.ok(store.resources.some((r) => r.kind === 'networkpolicy' && r.id.endsWith('/restoreproof-allow-egress')));
    assert.equal(await connect(storeTarget(store), listener), 0, `store pod with egress could not reach ${listener.what}`);
  });
});
