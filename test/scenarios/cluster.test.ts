import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeClusterScenario } from '../../scripts/scenarios/cluster.ts';
import type { RunReport } from '../../src/report/types.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot, testbedImageEnv } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';

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

  const run = async (dir: string) => {
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, CLUSTER_BACKUPS: dir }, reportDir });
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

  it('passes on a good snapshot: Deployments and Secrets per namespace as the generator created them', async () => {
    const { good } = await made();
    const report = await run(good.dir);
    assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
    const actual = Object.fromEntries(report.checks.map((c) => [c.id, c.actual]));
    assert.equal(actual['prod-deployments'], good.counts.deployments.prod);
    assert.equal(actual['staging-deployments'], good.counts.deployments.staging);
    assert.equal(actual['payments-secrets'], good.counts.secrets.payments);
    assert.equal(actual.revision, good.revision);
    assert.match(report.artefacts[0]!.format, new RegExp(`^etcd snapshot \\(SHA-256 verified; revision ${good.revision}, `));
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
