// Every engine on every runtime that hosts it, from the engine folder's own fixture: adding an
// engine adds its rows here without a new test. Kubernetes: test/kubernetes/conformance.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeName } from '../../src/drill/types.ts';
import { requireBackends, testbedImageEnv, useRuntimeBackends, useTestbedBinaries } from '../support/backends.ts';
import { engineBackends, engineNames, hostedBy, runEngineConformance } from '../support/engine-conformance.ts';
import { processesMatching } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const docker = (args: string[]) => execFileSync('docker', ['-H', testbedImageEnv().DOCKER_HOST!, ...args], { encoding: 'utf8' }).trim();

describe('conformance: every engine on every runtime that hosts it', function () {
  let work: string;
  before(async function () {
    requireBackends(this, ...(await engineBackends()));
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-engine-conformance-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the local and containers runtimes each host every engine', () => {
    assert.deepEqual(hostedBy('local'), engineNames);
    assert.deepEqual(hostedBy('containers'), engineNames);
  });

  for (const runtime of ['local', 'containers'] satisfies RuntimeName[]) {
    describe(`runtime ${runtime}`, function () {
      useRuntimeBackends(runtime);

      for (const engine of hostedBy(runtime)) {
        it(`${engine}: the fixture restores and its count holds; one more fails the drill`, async () => {
          const { passed, failed } = await runEngineConformance(engine, runtime, work, { ...process.env });
          for (const report of [passed, failed]) {
            if (runtime === 'containers') {
              assert.equal(docker(['ps', '-aq', '--filter', `label=restoreproof.run=${report.runId}`]), '');
              assert.equal(docker(['network', 'ls', '-q', '--filter', `label=restoreproof.run=${report.runId}`]), '');
            } else {
              assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), []);
              assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), []);
            }
          }
        });
      }
    });
  }
});
