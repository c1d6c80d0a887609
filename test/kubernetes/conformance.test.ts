// The conformance drills (test/support/conformance.ts) on the kubernetes runtime: the same drill
// files must come to the same outcomes as on local and containers, and leave no namespace behind.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import { runDrill } from '../../src/run/run.ts';
import { conformanceDrills, outcomeOf } from '../support/conformance.ts';
import { engineBackends, hostedBy, runEngineConformance } from '../support/engine-conformance.ts';
import { requireBackends, useTestbedBinaries, useTestbedCluster } from '../support/backends.ts';
import { assertValidReport, demoBackups, fixtureDrill } from '../support/fixtures.ts';

describe('conformance: the same drills on the kubernetes runtime', function () {
  let work: string;
  let fixtures: string;
  let platform: PlatformBackups;
  let core: CoreV1Api;
  let restoreEnv: (() => void) | undefined;

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', ...(await engineBackends()));
    useTestbedBinaries();
    const cluster = useTestbedCluster();
    restoreEnv = cluster.restore;
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfig);
    core = config.makeApiClient(CoreV1Api);
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-k8s-conformance-'));
    fixtures = (await demoBackups()).dir;
    platform = await makePlatformBackups(join(work, 'platform'));
  });
  after(async () => {
    restoreEnv?.();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const drill of conformanceDrills) {
    it(drill.file, async () => {
      const report = await runDrill(fixtureDrill(drill.file), {
        runtime: 'kubernetes',
        reportDir: join(work, 'reports'),
        env: { ...process.env, RESTOREPROOF_FIXTURES: fixtures, RESTOREPROOF_PLATFORM: platform.dir },
      });
      assertValidReport(report);
      assert.equal(report.runtime, 'kubernetes');
      drill.expect(outcomeOf(report), report);
      assert.equal(report.teardown.status, 'completed', JSON.stringify(report.teardown));
      const pods = report.teardown.resources.filter((r) => r.kind === 'pod');
      assert.equal(pods.length, report.stores.length);
      assert.ok(pods.every((p) => p.removed), JSON.stringify(pods));
      assert.deepEqual((await core.listNamespace({ labelSelector: `restoreproof.run=${report.runId}` })).items.map((n) => n.metadata!.name), []);
    });
  }

  // Every engine the runtime hosts, from its folder's fixture (test/support/engine-conformance.ts).
  for (const engine of hostedBy('kubernetes')) {
    it(`engine ${engine}: the fixture restores and its count holds; one more fails the drill`, async () => {
      const { passed, failed } = await runEngineConformance(engine, 'kubernetes', work, { ...process.env });
      for (const report of [passed, failed]) {
        assert.deepEqual((await core.listNamespace({ labelSelector: `restoreproof.run=${report.runId}` })).items.map((n) => n.metadata!.name), []);
      }
    });
  }
});
