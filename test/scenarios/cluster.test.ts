import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeClusterScenario } from '../../scripts/scenarios/cluster.ts';
import type { RunReport } from '../../src/report/types.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, testbedImageEnv } from '../support/backends.ts';
import { assertValidReport, processesMatching } from '../support/fixtures.ts';
import { runInlineDrill } from '../support/inline-drill.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { assertMutationPassed } from '../support/mutation.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const drill = join(repoRoot, 'drills/examples/cluster.yaml');

// The snapshots are made once (a real etcd and kube-apiserver) and restored on every runtime.
let work: string | undefined;
let backups: Promise<{ good: Awaited<ReturnType<typeof makeClusterScenario>>; truncated: string; corrupt: string }> | undefined;
const made = () =>
  (backups ??= (async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-cluster-'));
    const good = await makeClusterScenario({ out: join(work, 'good') });
    const truncated = await makeClusterScenario({ out: join(work, 'truncated'), damage: 'truncated' });
    const corrupt = await makeClusterScenario({ out: join(work, 'corrupt'), damage: 'corrupt' });
    return { good, truncated: truncated.snapshot, corrupt: corrupt.snapshot };
  })());

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

forEachRuntime('reference drill: cluster (etcd snapshot of a Kubernetes cluster) and its negative twin', { backends: ['etcd', 'kube-apiserver'] }, (runtime) => {
  const pages = useReportPages();

  const run = async (dir: string, mutants = false) => {
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, CLUSTER_BACKUPS: dir }, reportDir, mutants });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    return report;
  };

  /** Integrity failed before anything started: no phase after verify ran, no resource was made. */
  const assertNothingStarted = (report: RunReport) => {
    for (const phase of ['provision', 'restore', 'checks']) assert.equal(report.phases.find((p) => p.name === phase)!.status, 'skipped', phase);
    assert.deepEqual(report.teardown.resources, []);
    assert.ok(report.checks.every((c) => c.status === 'skipped'), JSON.stringify(report.checks));
    if (runtime === 'containers') {
      const docker = (args: string[]) => execFileSync('docker', ['-H', testbedImageEnv().DOCKER_HOST!, ...args], { encoding: 'utf8' }).trim();
      assert.equal(docker(['ps', '-aq', '--filter', `label=restoreproof.run=${report.runId}`]), '', 'no container of the run');
    }
  };

  // On the local runtime the passing run is also the mutation run (restoreproof mutate): one restore serves both.
  const mutants = runtime === 'local';
  it(`passes on a good snapshot: Deployments and Secrets per namespace as the generator created them${mutants ? '; its mutation score reaches the minimum' : ''}`, async () => {
    const { good } = await made();
    const report = await run(good.dir, mutants);
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    if (mutants) {
      assertMutationPassed('cluster', report);
    }
    const actual = Object.fromEntries(report.checks.map((c) => [c.id, c.actual]));
    assert.equal(actual['prod-deployments'], good.counts.deployments.prod);
    assert.equal(actual['payments-deployments'], good.counts.deployments.payments);
    assert.equal(actual['staging-deployments'], good.counts.deployments.staging);
    assert.equal(actual.namespaces, 7);
    assert.equal(actual['payments-secrets'], good.counts.secrets.payments);
    assert.equal(actual.revision, good.revision);
    assert.match(report.artefacts[0]!.format, new RegExp(`^etcd snapshot \\(SHA-256 verified; revision ${good.revision}, `));
    // Served again by kube-apiserver on the restored store; the API server it started is gone.
    assert.equal(actual['prod-deployments-served'], good.counts.deployments.prod);
    assert.equal(actual['payments-secrets-served'], good.counts.secrets.payments);
    for (const id of ['prod-deployments-served', 'payments-secrets-served']) {
      const { apiServer } = report.checks.find((c) => c.id === id)!.details as { apiServer: { version: string; resources: { kind: string; removed?: boolean }[] } };
      assert.equal(apiServer.version, 'v1.34.2');
      assert.deepEqual(apiServer.resources.map((r) => [r.kind, r.removed]), [['directory', true], ['process', true]]);
    }
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });

  it('twin: the snapshot truncated by one byte fails its integrity check before any restore, naming it', async () => {
    const { truncated } = await made();
    const report = await run(join(truncated, '..'));
    assert.equal(report.exitCode, 1);
    assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
    assert.equal(report.errors[0]!.message, `${truncated}: is ${(await stat(truncated)).size} bytes, not an etcd snapshot's bolt pages plus its 32-byte SHA-256`);
    assertNothingStarted(report);
    await pages.assertOpen(report, join(work!, `reports-${runtime}`));
  });

  it('a snapshot with one byte flipped in its middle fails its SHA-256 check, naming it, nothing started', async () => {
    const { corrupt } = await made();
    const report = await run(join(corrupt, '..'));
    assert.equal(report.exitCode, 1);
    assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
    assert.equal(report.errors[0]!.message, `${corrupt}: fails its integrity check: the SHA-256 at its end does not match its contents`);
    assertNothingStarted(report);
  });
});

forEachRuntime('etcd kubeApi: kube-apiserver started on the restored cluster snapshot', { backends: ['etcd', 'kube-apiserver'] }, (runtime) => {
  const store = async () => ['  stores:', '    etcd:', '      engine: etcd', '      restore:', `        - artefact: ${(await made()).good.snapshot}`];

  it('each kubeApi check fails when what the API server serves says otherwise; nothing of it is left', async () => {
    const report = await runInlineDrill(work!, `kube-api-fail-${runtime}`, [...(await store()), '  checks:',
      '    - { id: too-few, type: kubeApi, store: etcd, resource: deployments.apps, namespace: prod, expect: { min: 40 } }',
      '    - { id: missing-name, type: kubeApi, store: etcd, resource: secrets, namespace: payments, expect: { min: 1 }, names: [credentials-1, stripe-key] }',
      '    - { id: unknown, type: kubeApi, store: etcd, resource: widgets, expect: { min: 1 } }',
      '    - { id: namespaces, type: kubeApi, store: etcd, resource: namespaces, expect: { min: 3 }, names: [prod, payments, staging] }',
    ], runtime);
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.message]), [
      ['too-few', 'failed', '12 deployments.apps in namespace prod served by kube-apiserver v1.34.2 on the restored store; expected >= 40'],
      ['missing-name', 'failed', '6 secrets in namespace payments served by kube-apiserver v1.34.2 on the restored store; missing stripe-key'],
      ['unknown', 'failed', 'the restored API server serves no resource widgets (kubectl api-resources lists what it serves)'],
      // kube-system, kube-public, kube-node-lease and default come from the API server itself.
      ['namespaces', 'passed', `${report.checks[3]!.actual} namespaces served by kube-apiserver v1.34.2 on the restored store`],
    ]);
    assert.ok((report.checks[3]!.actual as number) >= 4);
  });

  it('a kubeApi check whose kube-apiserver is missing stops the run at preflight, naming it: exit 3, nothing started', async () => {
    const lines = await store();
    const missing = join(work!, 'no-such-dir', 'kube-apiserver');
    const report = await runInlineDrill(work!, `kube-api-missing-${runtime}`, [...lines, '  checks:',
      `    - { id: served, type: kubeApi, store: etcd, resource: deployments, namespace: prod, expect: { min: 1 }, apiServer: ${missing} }`,
    ], runtime);
    assert.equal(report.exitCode, 3);
    assert.equal(report.errors[0]!.code, 'E_TOOL_NOT_FOUND');
    assert.match(report.errors[0]!.message, new RegExp(`kube-apiserver .*${missing.replace(/[.]/g, '\\.')}`));
    for (const phase of ['provision', 'restore', 'checks']) assert.equal(report.phases.find((p) => p.name === phase)!.status, 'skipped', phase);
    assert.deepEqual(report.teardown.resources, []);
  });

  it('interrupted while its API server runs: the API server and its dir are removed, exit 130', async () => {
    const { good } = await made();
    const file = join(work!, `kube-api-sigint-${runtime}.yaml`);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: kube-api-sigint }', 'spec:', `  runtime: ${runtime}`,
      '  stores:', '    etcd:', '      engine: etcd', '      restore:', `        - artefact: ${good.snapshot}`, '  checks:',
      '    - { id: served, type: kubeApi, store: etcd, resource: deployments, namespace: prod, expect: { min: 1 } }'].join('\n'));
    const controller = new AbortController();
    let runId = '';
    let seen = '';
    const watch = async () => {
      // Interrupt once the run's kube-apiserver process is there.
      for (let i = 0; i < 600 && !seen; i++) {
        seen = (await processesMatching(`restoreproof-${runId}-etcd-kube-apiserver-`)).find((p) => p.includes('kube-apiserver --etcd-servers')) ?? '';
        if (!seen) await new Promise((r) => setTimeout(r, 100));
      }
      controller.abort('SIGINT');
    };
    let watching: Promise<void> | undefined;
    const report = await runDrill(file, {
      signal: controller.signal, reportDir: join(work!, 'reports'), env: process.env as Record<string, string>,
      reporters: [{ onRunStart: (e) => (runId = e.runId), onCheckStart: () => void (watching = watch()) }],
    });
    await watching;
    assert.ok(seen, 'the kube-apiserver of the run was seen running');
    assert.equal(report.exitCode, 130);
    assert.equal(report.checks[0]!.status, 'skipped');
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), []);
    assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}-`), []);
  });
});
