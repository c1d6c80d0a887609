// One suite, every runtime: the same drill files must give the same outcomes on `local` (server
// processes from this machine's binaries) and on `containers` (the test bed's Docker engine and
// images). Each runtime restores real backups into real servers; nothing is mocked.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import { runDrill } from '../../src/run/run.ts';
import type { RuntimeName } from '../../src/drill/types.ts';
import { requireBackends, testbedImageEnv, useRuntimeBackends, useTestbedBinaries } from '../support/backends.ts';
import { conformanceDrills, outcomeOf, type Outcome } from '../support/conformance.ts';
import { assertValidReport, demoBackups, fixtureDrill, processesMatching } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const runtimeNames: RuntimeName[] = ['local', 'containers'];
// kubernetes: test/kubernetes/conformance.test.ts runs the same drills once the cluster is up.

let work: string;
let fixtures: string;
let platform: PlatformBackups;
const outcomes = new Map<string, Map<RuntimeName, Outcome>>();

describe('conformance: the same drills on every runtime', function () {
  before(async function () {
    requireBackends(this, 'postgres', 'mongo', 'minio', 'redis');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-conformance-'));
    fixtures = (await demoBackups()).dir;
    platform = await makePlatformBackups(join(work, 'platform'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const runtime of runtimeNames) {
    describe(`runtime ${runtime}`, function () {
      useRuntimeBackends(runtime);

      for (const drill of conformanceDrills) {
        it(`${drill.file}`, async () => {
          const report = await runDrill(fixtureDrill(drill.file), {
            runtime,
            reportDir: join(work, 'reports'),
            env: { ...process.env, RESTOREPROOF_FIXTURES: fixtures, RESTOREPROOF_PLATFORM: platform.dir },
          });
          assertValidReport(report);
          assert.equal(report.runtime, runtime);
          const outcome = outcomeOf(report);
          drill.expect(outcome, report);
          if (!outcomes.has(drill.file)) outcomes.set(drill.file, new Map());
          outcomes.get(drill.file)!.set(runtime, outcome);
          assert.equal(report.teardown.status, 'completed', JSON.stringify(report.teardown));
          if (runtime === 'containers') {
            const containers = report.teardown.resources.filter((r) => r.kind === 'container');
            assert.equal(containers.length, Object.keys(outcome.stores).length);
            for (const c of containers) {
              assert.match(c.id, /^[0-9a-f]{64}$/);
              // No egress asked for: reached at its address on the internal run network, nothing published.
              assert.match(Object.values(c.ports ?? {})[0] ?? '', /^\d+\.\d+\.\d+\.\d+:\d+ \(internal run network\)$/);
            }
            assert.equal(report.teardown.resources.filter((r) => r.kind === 'network').length, 1);
            assert.deepEqual(docker(['ps', '-aq', '--filter', `label=restoreproof.run=${report.runId}`]), '');
            assert.deepEqual(docker(['network', 'ls', '-q', '--filter', `label=restoreproof.run=${report.runId}`]), '');
          } else {
            assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), []);
            assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), []);
          }
        });
      }
    });
  }

  describe('across runtimes', function () {
    it('every drill came to the same outcome on every runtime', function () {
      if ([...outcomes.values()].every((m) => m.size < runtimeNames.length)) this.skip();
      for (const [file, byRuntime] of outcomes) {
        const [first, ...rest] = [...byRuntime.values()];
        for (const other of rest) assert.deepEqual(other, first, file);
      }
    });
  });
});

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', env: { ...process.env, ...testbedImageEnv() } }).trim();
}
