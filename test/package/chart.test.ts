// charts/restoreproof through the real `helm` (built by the test bed from the Go module proxy):
// lint, and what `helm template` renders, object by object. The install on a cluster is
// test/kubernetes/helm.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseDrill } from '../../src/drill/load.ts';
import { repoRoot, requireBackends, testbed } from '../support/backends.ts';
import { command } from '../support/package.ts';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

const chart = join(repoRoot, 'charts/restoreproof');

describe('helm chart: lint and template', function () {
  this.timeout(120_000);
  let helm: string;
  let work: string;
  const demoDrill = async () => parse(await readFile(join(repoRoot, 'drills/demo.yaml'), 'utf8'));

  before(async function () {
    requireBackends(this, 'helm');
    helm = (testbed().backends.helm as { cli: string }).cli;
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-chart-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function render(values: unknown): Promise<{ code: number | null; objects: K8sObject[]; stderr: string }> {
    const file = join(work, `values-${Math.random().toString(16).slice(2)}.yaml`);
    await writeFile(file, stringify(values));
    const result = await command(helm, ['template', 'nightly', chart, '--namespace', 'drills', '-f', file], { cwd: work });
    const objects = result.code === 0 ? parseAllDocuments(result.stdout).map((d) => d.toJSON() as K8sObject).filter(Boolean) : [];
    return { code: result.code, objects, stderr: result.stderr };
  }
  const only = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

  it('helm lint passes with the defaults and with drills, notifications and a signing key', async () => {
    const plain = await command(helm, ['lint', '--strict', chart], { cwd: work });
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    const values = join(work, 'lint.yaml');
    await writeFile(values, stringify({ drills: { demo: { drill: await demoDrill() } }, signingKey: { existingSecret: 'drill-key' }, notify: { pushgateway: { url: 'http://pushgateway.monitoring:9091' } } }));
    const full = await command(helm, ['lint', '--strict', chart, '-f', values], { cwd: work });
    assert.equal(full.code, 0, full.stdout + full.stderr);
    assert.match(full.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders a CronJob per drill (Forbid, no retries, resources) and the drill from a ConfigMap, valid against the drill schema', async () => {
    const drill = await demoDrill();
    const { code, objects, stderr } = await render({
      drills: { demo: { drill }, billing: { schedule: '15 4 * * *', args: ['--keep-on-failure'], drill: { ...drill, metadata: { ...drill.metadata, name: 'billing' } } } },
      resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
      images: { postgres: 'registry.example/postgres:{version}' },
    });
    assert.equal(code, 0, stderr);
    const cronjobs = only(objects, 'CronJob').filter((c) => c.metadata.labels?.['restoreproof.drill']);
    assert.deepEqual(cronjobs.map((c) => [c.metadata.name, c.spec.schedule, c.spec.concurrencyPolicy]).sort(), [
      ['nightly-restoreproof-billing', '15 4 * * *', 'Forbid'],
      ['nightly-restoreproof-demo', '30 2 * * *', 'Forbid'],
    ]);
    const demo = cronjobs.find((c) => c.metadata.name.endsWith('-demo'))!;
    assert.equal(demo.spec.jobTemplate.spec.backoffLimit, 0);
    const pod = demo.spec.jobTemplate.spec.template.spec;
    const container = pod.containers[0];
    assert.deepEqual(container.args, ['run', '/drills/demo.yaml', '--runtime', 'kubernetes', '--report-dir', '/reports']);
    assert.deepEqual(container.resources, { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } });
    assert.ok(container.env.some((e: { name: string; value?: string }) => e.name === 'RESTOREPROOF_IMAGE_POSTGRES' && e.value === 'registry.example/postgres:{version}'));
    assert.equal(pod.serviceAccountName, 'nightly-restoreproof');
    assert.deepEqual(cronjobs.find((c) => c.metadata.name.endsWith('-billing'))!.spec.jobTemplate.spec.template.spec.containers[0].args.slice(-1), ['--keep-on-failure']);

    const configMap = only(objects, 'ConfigMap').find((c) => c.metadata.name === 'nightly-restoreproof-drills')!;
    assert.deepEqual(Object.keys(configMap.data).sort(), ['billing.yaml', 'demo.yaml']);
    assert.deepEqual(pod.volumes.find((v: { name: string }) => v.name === 'drills').configMap, { name: 'nightly-restoreproof-drills' });
    // The drill as the harness will read it: schema-valid (interpolation defaults apply).
    const parsed = parseDrill(configMap.data['demo.yaml'], '/drills/demo.yaml', { env: {} });
    assert.equal(parsed.document.metadata.name, 'demo');
    assert.equal(parsed.document.spec.checks?.length, drill.spec.checks.length);
  });

  it('grants exactly the RBAC that deploy/rbac.yaml proved, to the chart\'s service account, narrowed by the admission policy', async () => {
    const { code, objects, stderr } = await render({ drills: { demo: { drill: await demoDrill() } } });
    assert.equal(code, 0, stderr);
    const proven = parseAllDocuments(await readFile(join(repoRoot, 'deploy/rbac.yaml'), 'utf8')).map((d) => d.toJSON() as K8sObject);
    const role = only(objects, 'ClusterRole');
    assert.equal(role.length, 1);
    assert.deepEqual(role[0]!.rules, only(proven, 'ClusterRole')[0]!.rules);
    const binding = only(objects, 'ClusterRoleBinding')[0]!;
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'nightly-restoreproof', namespace: 'drills' }]);
    assert.equal(binding.roleRef.name, role[0]!.metadata.name);
    assert.deepEqual(only(objects, 'ServiceAccount').map((s) => s.metadata.name), ['nightly-restoreproof']);
    const policy = only(objects, 'ValidatingAdmissionPolicy')[0]!;
    assert.equal(policy.spec.matchConditions[0].expression, "request.userInfo.username == 'system:serviceaccount:drills:nightly-restoreproof'");
    assert.deepEqual(policy.spec.validations, only(proven, 'ValidatingAdmissionPolicy')[0]!.spec.validations);
    // Nothing namespaced beyond the release's own objects, and no Role with more.
    assert.deepEqual(only(objects, 'Role'), []);
  });

  it('signing key and source credentials from Secrets, Pushgateway and webhook from values, reports to a kept PVC', async () => {
    const drill = await demoDrill();
    delete drill.spec.report.sign;
    const { code, objects, stderr } = await render({
      drills: { demo: { drill } },
      signingKey: { existingSecret: 'drill-signing-key' },
      sourceCredentials: { existingSecrets: ['backup-s3', 'backup-sftp'] },
      notify: { pushgateway: { url: 'http://pushgateway.monitoring:9091', job: 'drills' }, webhook: { existingSecret: 'drill-webhook' } },
      reports: { pvc: { size: '5Gi', storageClassName: 'standard' } },
    });
    assert.equal(code, 0, stderr);
    const pod = only(objects, 'CronJob')[0]!.spec.jobTemplate.spec.template.spec;
    const container = pod.containers[0];
    const env = Object.fromEntries(container.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.RESTOREPROOF_SIGNING_KEY_FILE, '/etc/restoreproof/signing/signing.key');
    assert.deepEqual(env.RESTOREPROOF_WEBHOOK_URL, { secretKeyRef: { name: 'drill-webhook', key: 'url' } });
    assert.deepEqual(container.envFrom, [{ secretRef: { name: 'backup-s3' } }, { secretRef: { name: 'backup-sftp' } }]);
    assert.deepEqual(pod.volumes.find((v: { name: string }) => v.name === 'signing-key').secret, { secretName: 'drill-signing-key', defaultMode: 0o400 });
    const text = only(objects, 'ConfigMap')[0]!.data['demo.yaml'];
    const rendered = parse(text);
    assert.deepEqual(rendered.spec.report.pushgateway, { url: 'http://pushgateway.monitoring:9091', job: 'drills' });
    assert.deepEqual(rendered.spec.report.webhook, { url: '${RESTOREPROOF_WEBHOOK_URL}' });
    const loaded = parseDrill(text, '/drills/demo.yaml', { env: { RESTOREPROOF_WEBHOOK_URL: 'https://hooks.example/T0K3N' } });
    assert.equal(loaded.document.spec.report?.webhook?.url, 'https://hooks.example/T0K3N');
    const pvc = only(objects, 'PersistentVolumeClaim')[0]!;
    assert.equal(pvc.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
    assert.deepEqual([pvc.spec.resources.requests.storage, pvc.spec.storageClassName], ['5Gi', 'standard']);
    assert.deepEqual(pod.volumes.find((v: { name: string }) => v.name === 'reports').persistentVolumeClaim, { claimName: pvc.metadata.name });
  });

  it('a drill that sets its own Pushgateway keeps it; a drill key that is no DNS label or a drill without its document fails the render naming it', async () => {
    const drill = await demoDrill();
    drill.spec.report.pushgateway = { url: 'http://own:9091' };
    const own = await render({ drills: { demo: { drill } }, notify: { pushgateway: { url: 'http://chart:9091' } } });
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(parse(only(own.objects, 'ConfigMap')[0]!.data['demo.yaml']).spec.report.pushgateway, { url: 'http://own:9091' });
    const badName = await render({ drills: { Billing_Nightly: { drill } } });
    assert.notEqual(badName.code, 0);
    assert.match(badName.stderr, /drills\.Billing_Nightly: a drill's key must be a DNS label/);
    const missing = await render({ drills: { billing: { schedule: '0 1 * * *' } } });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /drills\.billing\.drill: the drill document is missing/);
  });
});
