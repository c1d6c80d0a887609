// spec.app on the kubernetes runtime, against the test bed's real cluster: the sample app as a
// Deployment with a Service in the run's namespace, its migration as a pod, readiness and spot
// checks through a port-forward, and a crashing app failing with its last log lines.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { RunReport } from '../../src/report/types.ts';
import { runDrill } from '../../src/run/run.ts';
import { makeAppFixture, type AppFixture } from '../support/audit-chain.ts';
import { repoRoot, requireBackends, useTestbedBinaries, useTestbedCluster } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('spec.app on the kubernetes runtime (test bed cluster)', function () {
  let work: string;
  let fixture: AppFixture;
  let core: CoreV1Api;
  let restoreEnv: (() => void) | undefined;

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', 'postgres');
    useTestbedBinaries();
    const cluster = useTestbedCluster({ TEST_APP_TOKEN: 'tok-k8s-5d2a91', TEST_APP_TOKEN_HEADER: 'Bearer tok-k8s-5d2a91' });
    restoreEnv = cluster.restore;
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfig);
    core = config.makeApiClient(CoreV1Api);
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-k8s-app-'));
    fixture = await makeAppFixture(work);
  });
  after(async () => {
    restoreEnv?.();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function run(name: string, app: string[], checks: string[]): Promise<RunReport> {
    const file = join(work, `${name}.yaml`);
    await writeFile(file, [
      'apiVersion: restoreproof/v1',
      'kind: RestoreDrill',
      `metadata: { name: ${name} }`,
      'spec:',
      '  runtime: kubernetes',
      '  stores:',
      '    db:',
      '      engine: postgres',
      `      restore: [ { artefact: ${fixture.dump}, database: app } ]`,
      '  app:',
      ...app,
      '  checks:',
      ...checks,
    ].join('\n'));
    const report = await runDrill(file, { reportDir: join(work, 'reports'), runtime: 'kubernetes' });
    assertValidReport(report);
    assert.equal(report.runtime, 'kubernetes');
    assert.equal(report.teardown.status, 'completed', JSON.stringify(report.teardown));
    assert.deepEqual((await core.listNamespace({ labelSelector: `restoreproof.run=${report.runId}` })).items.map((n) => n.metadata!.name), [], 'namespace left behind');
    return report;
  }
  const check = (report: RunReport, id: string) => report.checks.find((c) => c.id === id) ?? assert.fail(`no check ${id}: ${JSON.stringify(report.errors)}`);

  const sampleApp = (database: string) => [
    '    command: [node, server.ts]',
    `    cwd: ${join(repoRoot, 'test/fixtures/app')}`,
    '    startTimeout: 2m',
    `    env: { DATABASE_URL: "\${stores.db.url:${database}}", APP_TOKEN: { env: TEST_APP_TOKEN } }`,
    `    migrate: { command: [node, -e, "const u = new URL(process.env.DATABASE_URL); if (u.hostname === '127.0.0.1' || u.port !== '5432') { console.error('store at ' + u.host); process.exit(4) }"], env: { DATABASE_URL: "\${stores.db.url:${database}}" } }`,
  ];

  it('starts the sample app as a Deployment on the restored database: migration, readiness and the spot check pass; all of it goes with the namespace', async () => {
    const report = await run('k8s-app', sampleApp('app'), [
      '    - { id: ready, type: http, path: /ready, expect: { status: 200, json: { ready: { equals: true } } }, retry: { until: 60s, interval: 500ms } }',
      '    - { id: license, type: http, path: /license, headers: { Authorization: { env: TEST_APP_TOKEN_HEADER } }, expect: { json: { license.edition: { equals: enterprise }, license.customer: { matches: "^ACME" } } } }',
      '    - { id: unauthorised, type: http, path: /license, expect: { status: 401 } }',
    ]);
    assert.equal(report.status, 'passed', JSON.stringify({ errors: report.errors, checks: report.checks.filter((c) => c.status !== 'passed') }, null, 2));
    assert.equal(check(report, 'app-migrate').status, 'passed');
    const app = report.teardown.resources.filter((r) => r.store === 'app');
    assert.deepEqual(app.map((r) => r.kind).sort(), ['deployment', 'networkpolicy', 'pod', 'secret', 'service']);
    assert.ok(app.every((r) => r.removed), JSON.stringify(app));
    assert.match(Object.values(app.find((r) => r.kind === 'deployment')!.ports ?? {})[0] ?? '', /^127\.0\.0\.1:\d+ \(port-forward\)$/);
    assert.ok(!JSON.stringify(report).includes('tok-k8s-5d2a91'), 'the token is echoed in the report');
    assert.match(report.environment?.isolation ?? '', /default-deny NetworkPolicy .*restoreproof-default-deny.*; .*restoreproof-app-to-stores lets the app's pods \(and only them\) reach the stores/);
  });

  it('--keep keeps the namespace with the app and says how to reach it, without the password', async () => {
    const file = join(work, 'k8s-app-keep.yaml');
    await writeFile(file, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: k8s-app-keep }', 'spec:', '  runtime: kubernetes',
      '  stores:', '    db:', '      engine: postgres', `      restore: [ { artefact: ${fixture.dump}, database: app } ]`,
      '  app:', ...sampleApp('app'),
      '  checks:', '    - { id: ready, type: http, path: /ready, expect: { status: 200 }, retry: { until: 60s, interval: 500ms } }',
    ].join('\n'));
    const report = await runDrill(file, { reportDir: join(work, 'reports'), runtime: 'kubernetes', keep: true });
    const namespace = report.environment?.namespace ?? assert.fail('no namespace in the evidence');
    try {
      assert.equal(report.status, 'passed', JSON.stringify(report.errors));
      assert.equal(report.teardown.status, 'kept');
      const help = (report.teardown.keptApp ?? []).join('\n');
      assert.match(help, new RegExp(`Deployment ${namespace}/app .*\\n.*kubectl -n ${namespace} port-forward service/app 8080:8080`));
      const db = report.stores.find((s) => s.name === 'db')!;
      for (const line of [...(report.teardown.keptApp ?? []), ...(db.connection ?? [])]) assert.ok(!/password=|:[^/@\s]+@/.test(line), line);
      assert.deepEqual((await core.listNamespacedPod({ namespace, labelSelector: 'restoreproof.role=app' })).items.map((p) => p.status?.phase), ['Running']);
    } finally {
      await core.deleteNamespace({ name: namespace });
      for (const owner of await runDirsNamed(`restoreproof-${report.runId}-owner.json`)) await rm(owner, { force: true });
    }
  });

  it('pointed at an empty database, readiness fails at its deadline with the app log', async () => {
    const report = await run('k8s-app-empty', sampleApp('postgres'), [
      '    - { id: ready, type: http, path: /ready, expect: { status: 200 }, retry: { until: 5s, interval: 500ms } }',
    ]);
    assert.equal(report.status, 'failed');
    const ready = check(report, 'ready');
    assert.notEqual(ready.status, 'skipped', JSON.stringify(report.errors));
    assert.equal(ready.status, 'failed');
    assert.match(ready.message, /status 503/);
    assert.match(ready.message, /app log \(last lines\):\n.*relation "license" does not exist/s);
  });

  it('an app that exits in its pod fails the drill with its last log lines', async () => {
    const report = await run('k8s-app-crash', ['    command: [node, -e, "console.error(\'boom: cannot load config\'); process.exit(3)"]', '    startTimeout: 2m'], [
      '    - { id: ready, type: http, path: /ready, retry: { until: 2s } }',
    ]);
    assert.equal(report.status, 'failed');
    const error = report.errors.find((e) => e.code === 'E_APP_START') ?? assert.fail(JSON.stringify(report.errors));
    assert.match(error.message, /exited during start-up \(exit code 3\); last log lines:\nboom: cannot load config/);
    assert.equal(check(report, 'ready').status, 'skipped');
  });

  it('auditChain takes its HMAC key from a Kubernetes Secret; a Secret without that key is a config error naming it', async () => {
    const name = `restoreproof-test-audit-key-${process.pid}`;
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name }, stringData: { hmac: `${fixture.auditKey}\n` } } });
    try {
      const drill = (key: string) => [
        'apiVersion: restoreproof/v1',
        'kind: RestoreDrill',
        `metadata: { name: k8s-secret-key }`,
        'spec:',
        '  stores:',
        '    db:',
        '      engine: postgres',
        `      restore: [ { artefact: ${fixture.dump}, database: app } ]`,
        '  checks:',
        `    - { id: chain, type: auditChain, store: db, table: audit_ok, orderBy: seq, macColumn: mac, linkColumn: prev_mac, algorithm: HMAC-SHA256, key: { kubernetesSecret: { name: ${name}, key: ${key}, namespace: default } }, input: { template: "{prev}|{id}|{actor}|{action}|{created_at}" } }`,
      ].join('\n');
      const file = join(work, 'secret-key.yaml');
      await writeFile(file, drill('hmac'));
      const report = await runDrill(file, { reportDir: join(work, 'reports'), runtime: 'local' });
      assertValidReport(report);
      assert.equal(check(report, 'chain').status, 'passed', check(report, 'chain').message);
      assert.match(check(report, 'chain').message, new RegExp(`^${fixture.rows} rows verify`));
      assert.ok(!JSON.stringify(report).includes(fixture.auditKey), 'the key is echoed in the report');

      await writeFile(file, drill('nope'));
      const missing = await runDrill(file, { reportDir: join(work, 'reports'), runtime: 'local' });
      assertValidReport(missing);
      assert.notEqual(missing.status, 'passed');
      const text = JSON.stringify([missing.errors, missing.checks]);
      assert.match(text, new RegExp(`Secret default/${name} has no key \\\\"nope\\\\" \\(its keys: hmac\\)`));
    } finally {
      await core.deleteNamespacedSecret({ name, namespace: 'default' }).catch(() => {});
    }
  });
});
