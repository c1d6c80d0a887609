// charts/restoreproof installed with the real `helm` on the test bed's cluster: the image built
// from the packed tarball (deploy/build-image.sh) and imported into the node's containerd, one
// Job triggered from the drill's CronJob, the demo drill passing inside the cluster on the
// kubernetes runtime, its run namespace gone afterwards and its signed reports on the chart's PVC
// (a hostPath volume on the single node, read from this machine).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { generateSigningKey } from '../../src/evidence/dsse.ts';
import { verifyEvidence } from '../../src/evidence/verify.ts';
import { repoRoot, requireBackends, testbed } from '../support/backends.ts';
import { assertValidReport, demoBackups } from '../support/fixtures.ts';
import { command, packedTarball, succeed, userEnv } from '../support/package.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('helm chart on the test bed cluster: a CronJob\'s Job runs the demo drill', function () {
  this.timeout(1_800_000);
  const tag = randomBytes(3).toString('hex');
  const namespace = `rp-helm-${tag}`;
  const release = 'nightly';
  const image = `restoreproof-test/restoreproof:helm-${tag}`;
  const volume = `rp-helm-reports-${tag}`;
  let env: Record<string, string>;
  let kube: { kubeconfig: string; server: string; containerdSocket: string };
  let helm: string;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let work: string;
  let reportsDir: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', 'helm', 'postgres');
    kube = testbed().backends.kubernetes as typeof kube;
    if (!kube.containerdSocket) throw new Error('the test bed names no containerd socket (backends.kubernetes.containerdSocket): run scripts/testbed up kubernetes');
    helm = (testbed().backends.helm as { cli: string }).cli;
    const docker = testbed().backends.docker as { host: string; images: Record<string, string> };
    env = userEnv({ DOCKER_HOST: docker.host, KUBECONFIG: kube.kubeconfig });
    const config = new KubeConfig();
    config.loadFromFile(kube.kubeconfig);
    core = config.makeApiClient(CoreV1Api);
    batch = config.makeApiClient(BatchV1Api);
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-helm-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));

    // The image, from the tarball, into the node's containerd (as scripts/testbed imports its own).
    const tarball = await packedTarball();
    await succeed(join(repoRoot, 'deploy/build-image.sh'), ['--tarball', tarball.file, '--base', docker.images.base!, '-t', image], { cwd: work, env });
    cleanups.push(() => command('docker', ['image', 'rm', '-f', image], { cwd: work, env }));
    await succeed('sh', ['-c', `docker save "$0" | ctr --address "$1" -n k8s.io images import --snapshotter overlayfs -`, image, kube.containerdSocket], { cwd: work, env });
    cleanups.push(() => command('ctr', ['--address', kube.containerdSocket, '-n', 'k8s.io', 'images', 'rm', `docker.io/${image}`], { cwd: work, env }));

    // The release's namespace, the demo backups (a ConfigMap the harness mounts), the signing key (a Secret).
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    cleanups.push(() => core.deleteNamespace({ name: namespace }));
    const fixtures = await demoBackups();
    await core.createNamespacedConfigMap({ namespace, body: {
      metadata: { name: 'demo-backups' },
      binaryData: Object.fromEntries([fixtures.shopDump, fixtures.analyticsSqlGz, fixtures.baseline].map((f) => [basename(f), readFileSync(f).toString('base64')])),
    } });
    const key = join(work, 'signing.key');
    await generateSigningKey(key);
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'drill-signing-key' }, stringData: { 'signing.key': await readFile(key, 'utf8') } } });

    // The chart's PVC, bound to a hostPath volume on the single node (the harness runs as uid 10001).
    reportsDir = join(work, 'reports');
    await mkdir(reportsDir);
    chmodSync(reportsDir, 0o777);
    await core.createPersistentVolume({ body: {
      metadata: { name: volume },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: '',
        hostPath: { path: reportsDir, type: 'Directory' }, claimRef: { namespace, name: `${release}-restoreproof-reports` } },
    } });
    cleanups.push(() => core.deletePersistentVolume({ name: volume }));
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.warn(`      cleanup: ${err}`));
  });

  it('helm install, a Job from the CronJob passes the demo drill, the run namespace is gone, the reports are on the PVC', async () => {
    // The demo drill as shipped, reading its backups from the mounted ConfigMap; signed by the chart's key.
    const drill = parse(await readFile(join(repoRoot, 'drills/demo.yaml'), 'utf8'));
    for (const step of drill.spec.stores.app.restore) step.artefact = `/backups/${basename(step.artefact)}`;
    for (const check of drill.spec.checks) if (check.baseline) check.baseline = '/backups/baseline.json';
    delete drill.spec.report.sign;
    const values = join(work, 'values.yaml');
    const api = new URL(kube.server);
    await writeFile(values, stringify({
      image: { repository: image.split(':')[0], tag: image.split(':')[1], pullPolicy: 'Never' },
      drills: { demo: { drill } },
      images: { postgres: (testbed().backends.docker as { images: Record<string, string> }).images.postgres },
      signingKey: { existingSecret: 'drill-signing-key' },
      reports: { pvc: { storageClassName: '' } },
      extraVolumes: [{ name: 'backups', configMap: { name: 'demo-backups' } }],
      extraVolumeMounts: [{ name: 'backups', mountPath: '/backups', readOnly: true }],
      // The test bed runs no kube-proxy and its API server listens on the node's loopback.
      hostNetwork: true,
      env: { KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port },
      gc: { enabled: false },
    }));
    const install = await command(helm, ['install', release, join(repoRoot, 'charts/restoreproof'), '--namespace', namespace, '-f', values, '--kubeconfig', kube.kubeconfig], { cwd: work, env });
    assert.equal(install.code, 0, install.stdout + install.stderr);
    cleanups.push(() => command(helm, ['uninstall', release, '--namespace', namespace, '--kubeconfig', kube.kubeconfig, '--wait'], { cwd: work, env }));
    assert.match(install.stdout, /STATUS: deployed/);

    // What `kubectl create job --from=cronjob/...` does.
    const cronJob = await batch.readNamespacedCronJob({ name: `${release}-restoreproof-demo`, namespace });
    assert.equal(cronJob.spec!.concurrencyPolicy, 'Forbid');
    const jobName = `${release}-restoreproof-demo-manual`;
    await batch.createNamespacedJob({ namespace, body: {
      metadata: { name: jobName, annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob.metadata!.name!, uid: cronJob.metadata!.uid!, controller: true }] },
      spec: cronJob.spec!.jobTemplate.spec,
    } });

    let job = await batch.readNamespacedJob({ name: jobName, namespace });
    const deadline = Date.now() + 1_500_000;
    while (!job.status?.succeeded && !job.status?.failed && Date.now() < deadline) {
      await sleep(5000);
      job = await batch.readNamespacedJob({ name: jobName, namespace });
    }
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` });
    const log = pods.items[0] ? await core.readNamespacedPodLog({ name: pods.items[0].metadata!.name!, namespace }) : '(no pod)';
    console.log(`      the Job's log, last lines:\n${log.trim().split('\n').slice(-12).map((l) => `        ${l}`).join('\n')}`);
    assert.equal(job.status?.succeeded, 1, `the Job did not succeed: ${JSON.stringify(job.status)}\n${log}`);

    // The reports, where the chart put them: on the PVC.
    const files = await readdir(reportsDir);
    const reportFile = files.find((f) => /^\d{8}T\d{6}Z-[0-9a-f]+\.json$/.test(f));
    assert.ok(reportFile, `no report on the PVC: ${files.join(', ')}`);
    const report = JSON.parse(await readFile(join(reportsDir, reportFile), 'utf8'));
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify(report.errors));
    assert.equal(report.runtime, 'kubernetes');
    assert.ok(report.checks.length >= 7 && report.checks.every((c: { status: string }) => c.status === 'passed'));
    for (const ext of ['.dsse.json', '.xml', '.md', '.html']) assert.ok(files.includes(reportFile.replace(/\.json$/, ext)), `${ext} missing from ${files.join(', ')}`);
    const verified = await verifyEvidence(join(reportsDir, reportFile.replace(/\.json$/, '.dsse.json')), { keyFiles: [`${join(work, 'signing.key')}.pub`] });
    assert.ok(verified.ok, JSON.stringify(verified.lines));
    assert.ok(verified.lines.some((l) => l.check === 'signature' && l.ok === true));
    assert.match(log, new RegExp(report.runId));

    // The run's namespace: deleted by the harness before the Job ended.
    const left = await core.listNamespace({ labelSelector: `restoreproof.run=${report.runId}` });
    assert.deepEqual(left.items.map((n) => `${n.metadata!.name} (${n.status?.phase})`), []);
    assert.equal(report.teardown.status, 'completed');
  });
});
