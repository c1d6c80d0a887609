// The kubernetes runtime against the test bed's real single-node cluster (scripts/testbed up
// kubernetes): the four-store platform drill in its own namespace, SIGINT and SIGKILL mid-restore, gc of
// expired namespaces, and a kubeconfig whose RBAC forbids namespace creation. Nothing is mocked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, requireBackends, testbed, testbedImageEnv, useTestbedBinaries } from '../support/backends.ts';
import { recordFault } from '../support/faults.ts';
import { assertValidReport, demoBackups, fixtureDrill, processesMatching, runCli } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('kubernetes runtime on the test bed cluster', function () {
  let work: string;
  let platform: PlatformBackups;
  let fixtures: string;
  let core: CoreV1Api;
  let kubeconfig: string;
  const saved: Record<string, string | undefined> = {};
  const planted: string[] = [];

  const env = () => ({ ...testbedImageEnv(), KUBECONFIG: kubeconfig });
  const namespacesOf = async (runId: string) =>
    (await core.listNamespace({ labelSelector: `restoreproof.run=${runId}` })).items.map((n) => `${n.metadata!.name} (${n.status?.phase})`);

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', 'postgres', 'mongo', 'minio', 'redis');
    useTestbedBinaries();
    kubeconfig = (testbed().backends.kubernetes as { kubeconfig: string }).kubeconfig;
    for (const [k, v] of Object.entries(env())) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    core = config.makeApiClient(CoreV1Api);
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-k8s-'));
    platform = await makePlatformBackups(join(work, 'platform'));
    fixtures = (await demoBackups()).dir;
  });
  after(async () => {
    for (const name of planted) await core?.deleteNamespace({ name }).catch(() => {});
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A kubeconfig (context `restricted`) that authenticates as a service account through a bound token. */
  async function tokenKubeconfig(namespace: string, account: string, name: string): Promise<string> {
    const token = (await core.createNamespacedServiceAccountToken({ name: account, namespace, body: { spec: { audiences: [], expirationSeconds: 900 } } })).status!.token;
    const admin = new KubeConfig();
    admin.loadFromFile(kubeconfig);
    const file = join(work, `${name}.kubeconfig`);
    await writeFile(file, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'restricted',
      clusters: [{ name: 'testbed', cluster: { server: admin.getCurrentCluster()!.server, 'certificate-authority-data': (admin.clusters[0] as { caData?: string }).caData } }],
      users: [{ name: account, user: { token } }],
      contexts: [{ name: 'restricted', context: { cluster: 'testbed', user: account } }],
    }), { mode: 0o600 });
    return file;
  }

  it('runs the four-store platform drill in its own namespace, passes, and the namespace is gone afterwards', async () => {
    const report = await runDrill(fixtureDrill('platform.yaml'), { runtime: 'kubernetes', reportDir: join(work, 'reports'), env: { ...process.env, RESTOREPROOF_PLATFORM: platform.dir } });
    assertValidReport(report);
    const failed = report.checks.filter((c) => c.status !== 'passed');
    assert.equal(report.status, 'passed', JSON.stringify({ errors: report.errors, failed }, null, 2));
    assert.equal(report.runtime, 'kubernetes');
    assert.deepEqual(report.stores.map((s) => [s.name, s.status]), [['mongo', 'passed'], ['db', 'passed'], ['bucket', 'passed'], ['sessions', 'passed']]);
    assert.equal(report.teardown.status, 'completed');
    const kinds = report.teardown.resources.map((r) => r.kind);
    for (const kind of ['namespace', 'networkpolicy', 'pod', 'service', 'secret']) assert.ok(kinds.includes(kind as never), `${kind} in ${kinds.join(', ')}`);
    assert.ok(report.teardown.resources.filter((r) => r.kind !== 'directory').every((r) => r.removed), JSON.stringify(report.teardown.resources));
    assert.deepEqual(await namespacesOf(report.runId), []);
  });

  it('SIGINT in the middle of a restore deletes the namespace of the run before exiting', async () => {
    let sent = false;
    const result = await runCli(['run', fixtureDrill('slow.yaml'), '--runtime', 'kubernetes', '--report-dir', join(work, 'reports'), '--json'], {
      env: { ...env(), RESTOREPROOF_FIXTURES: fixtures },
      onStderr: (text, child) => {
        if (!sent && /restore app: psql/.test(text)) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 1000);
        }
      },
    });
    assert.equal(sent, true, result.stderr);
    assert.equal(result.code, 130, result.stderr);
    const runId = /restoreproof run (\S+):/.exec(result.stderr)![1]!;
    const report = JSON.parse(result.stdout);
    assertValidReport(report);
    assert.equal(report.status, 'aborted');
    assert.equal(report.teardown.status, 'completed', JSON.stringify(report.teardown));
    assert.deepEqual(await namespacesOf(runId), []);
  });

  it('SIGKILL in the middle of a restore: the run\'s reaper deletes its namespace, with no gc', async () => {
    let killed = false;
    const result = await runCli(['run', fixtureDrill('slow.yaml'), '--runtime', 'kubernetes', '--report-dir', join(work, 'reports')], {
      env: { ...env(), RESTOREPROOF_FIXTURES: fixtures },
      killAfterMs: 600_000,
      onStderr: (text, child) => {
        if (!killed && /restore app: psql/.test(text)) {
          killed = true;
          setTimeout(() => child.kill('SIGKILL'), 500);
        }
      },
    });
    assert.equal(killed, true, result.stderr);
    assert.equal(result.signal, 'SIGKILL', result.stderr);
    const runId = /restoreproof run (\S+):/.exec(result.stderr)![1]!;
    // A generous poll (namespace deletion waits for its pods): only what is still there after it fails.
    const leftovers = async () => [
      ...(await namespacesOf(runId)),
      ...await runDirsNamed(`restoreproof-${runId}-`),
      ...(await processesMatching(`process.ts ${runId}`)),
    ];
    let left = await leftovers();
    for (let i = 0; i < 240 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 500));
      left = await leftovers();
    }
    recordFault('SIGKILL of the harness mid-restore (kubernetes)', { clearError: left.length === 0, leftovers: left.length });
    assert.deepEqual(left, [], 'the namespace, the owner file and the reaper itself are gone');
  });

  it('gc --runtime kubernetes deletes namespaces whose expires-at passed and leaves unexpired and foreign ones', async () => {
    const tag = randomBytes(3).toString('hex');
    const make = async (name: string, labels: Record<string, string>, annotations: Record<string, string>) => {
      planted.push(name);
      await core.createNamespace({ body: { metadata: { name, labels, annotations } } });
    };
    await make(`rp-test-expired-${tag}`, { 'restoreproof.run': `gc-${tag}-old`, 'restoreproof.drill': 'gc' }, { 'restoreproof.expires-at': new Date(Date.now() - 3_600_000).toISOString() });
    await make(`rp-test-fresh-${tag}`, { 'restoreproof.run': `gc-${tag}-new`, 'restoreproof.drill': 'gc' }, { 'restoreproof.expires-at': new Date(Date.now() + 3_600_000).toISOString() });
    await make(`rp-test-foreign-${tag}`, { team: 'payments' }, { 'restoreproof.expires-at': new Date(Date.now() - 3_600_000).toISOString() });
    const result = await runCli(['gc', '--runtime', 'kubernetes', '--json'], { env: env() });
    assert.equal(result.code, 0, result.stderr);
    const actions = JSON.parse(result.stdout) as { name: string; action: string }[];
    assert.deepEqual(actions.filter((a) => a.name.endsWith(tag)).map((a) => [a.name, a.action]).sort(), [[`rp-test-expired-${tag}`, 'removed'], [`rp-test-fresh-${tag}`, 'kept']]);
    const left = (await core.listNamespace()).items.map((n) => n.metadata!.name!).filter((n) => n.endsWith(tag)).sort();
    assert.deepEqual(left, [`rp-test-foreign-${tag}`, `rp-test-fresh-${tag}`]);
  });

  it('RBAC that forbids creating the namespace (restricted kubeconfig): the preflight says so before anything is created, exit 3', async () => {
    const tag = randomBytes(3).toString('hex');
    const ns = `rp-test-restricted-${tag}`;
    planted.push(ns);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'drill' } } });
    const restricted = await tokenKubeconfig(ns, 'drill', `restricted-${tag}`);
    const result = await runCli(['run', fixtureDrill('slow.yaml'), '--runtime', 'kubernetes', '--context', 'restricted', '--report-dir', join(work, 'reports'), '--json'], {
      env: { ...env(), KUBECONFIG: restricted, RESTOREPROOF_FIXTURES: fixtures },
    });
    // A SelfSubjectAccessReview per verb a run uses, before anything is created: the drill could not run.
    assert.equal(result.code, 3, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.status, 'could-not-run');
    const error = report.errors.find((e: { code: string }) => e.code === 'E_KUBE_FORBIDDEN');
    assert.ok(error, JSON.stringify(report.errors));
    assert.match(error.message, /^permission namespaces: not allowed: create, delete, get, list \(cluster-wide, for system:serviceaccount:/);
    assert.match(error.message, new RegExp(`system:serviceaccount:${ns}:drill`));
    assert.match(error.hint ?? result.stderr, /deploy\/rbac\.yaml/);
    assert.equal(report.phases.find((p: { name: string }) => p.name === 'provision').status, 'skipped');
    assert.deepEqual(report.teardown.resources, []);
    assert.deepEqual(await namespacesOf(report.runId), []);
    // doctor prints the same, one line per resource, and what is allowed too.
    const doctor = await runCli(['doctor', fixtureDrill('slow.yaml'), '--runtime', 'kubernetes', '--context', 'restricted'], { env: { ...env(), KUBECONFIG: restricted, RESTOREPROOF_FIXTURES: fixtures } });
    assert.equal(doctor.code, 3, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /^  ok +runtime +kubernetes +Kubernetes v\d+\.\d+\.\d+\S* answers at https:\/\/\S+ \(context restricted\)$/m);
    assert.match(doctor.stdout, /^  MISSING permission +pods\/exec +not allowed: create, get \(cluster-wide, for system:serviceaccount:/m);
  });

  it('deploy/rbac.yaml is enough for the platform drill and for spec.app, and refuses unlabelled namespaces and pods elsewhere', async () => {
    const admin = new KubeConfig();
    admin.loadFromFile(kubeconfig);
    const objects = KubernetesObjectApi.makeApiClient(admin);
    const manifests = loadAllYaml(await readFile(join(repoRoot, 'deploy/rbac.yaml'), 'utf8')) as KubernetesObject[];
    try {
      for (const m of manifests) await objects.create(m);
      const sa = await tokenKubeconfig('restoreproof', 'restoreproof', 'deploy-rbac');
      const result = await runCli(['run', fixtureDrill('platform.yaml'), '--runtime', 'kubernetes', '--report-dir', join(work, 'reports'), '--json'], {
        env: { ...env(), KUBECONFIG: sa, RESTOREPROOF_PLATFORM: platform.dir },
      });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.equal(report.teardown.status, 'completed');
      assert.deepEqual(await namespacesOf(report.runId), []);
      // spec.app: a Deployment, a Service, Secrets, a NetworkPolicy and a migration pod. The store is
      // named app too: the app's objects must take other names (app-2).
      const appDrill = join(work, 'rbac-app.yaml');
      await writeFile(appDrill, [
        'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: rbac-app }', 'spec:',
        '  stores:', '    app:', '      engine: postgres', '      restore: [ { artefact: "${RESTOREPROOF_FIXTURES}/shop.dump", database: shop } ]',
        '  app:',
        `    command: [node, -e, "require('http').createServer((q, s) => s.end(process.env.DATABASE_URL ? 'ok' : 'no db')).listen(process.env.PORT)"]`,
        '    env: { DATABASE_URL: "${stores.app.url:shop}" }',
        '    migrate: { command: [node, -e, "process.exit(process.env.DATABASE_URL ? 0 : 4)"], env: { DATABASE_URL: "${stores.app.url:shop}" } }',
        '  checks:',
        '    - { id: up, type: http, path: /, expect: { status: 200, body: "^ok$" }, retry: { until: 30s } }',
      ].join('\n'));
      // doctor agrees, by a SelfSubjectAccessReview per verb: every permission a run with spec.app uses is granted.
      const doctor = await runCli(['doctor', appDrill, '--runtime', 'kubernetes'], { env: { ...env(), KUBECONFIG: sa, RESTOREPROOF_FIXTURES: fixtures } });
      assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
      for (const resource of ['namespaces', 'pods', 'services', 'secrets', 'pods/log', 'pods/exec', 'pods/portforward', 'networking.k8s.io/networkpolicies', 'apps/deployments']) {
        assert.match(doctor.stdout, new RegExp(`^  ok +permission +${resource.replace(/[./]/g, '\\$&')} +allowed: `, 'm'));
      }
      const app = await runCli(['run', appDrill, '--runtime', 'kubernetes', '--report-dir', join(work, 'reports'), '--json'], {
        env: { ...env(), KUBECONFIG: sa, RESTOREPROOF_FIXTURES: fixtures },
      });
      assert.equal(app.code, 0, app.stderr);
      assert.deepEqual(await namespacesOf(JSON.parse(app.stdout).runId), []);
      const asHarness = new KubeConfig();
      asHarness.loadFromFile(sa);
      const harness = asHarness.makeApiClient(CoreV1Api);
      await assert.rejects(harness.createNamespace({ body: { metadata: { name: `rp-unlabelled-${randomBytes(3).toString('hex')}` } } }), /may only manage namespaces labelled restoreproof\.run/);
      await assert.rejects(harness.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'restoreproof-testbed/redis:7' }] } } }), /may only manage namespaces labelled restoreproof\.run/);
    } finally {
      for (const m of manifests.reverse()) await objects.delete(m).catch(() => {});
    }
  });
});
