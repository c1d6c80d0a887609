// One suite, every runtime: the same drill files must give the same outcomes on `local` (server
// processes from this machine's binaries) and on `containers` (the test bed's Docker engine and
// images). Each runtime restores real backups into real servers; nothing is mocked.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import type { RunReport } from '../../src/report/types.ts';
import { runDrill } from '../../src/run/run.ts';
import type { RuntimeName } from '../../src/spec/types.ts';
import { requireBackends, testbedImageEnv, useTestbedBinaries, useTestbedImages } from '../support/backends.ts';
import { assertValidReport, demoBackups, fixtureDrill, processesMatching } from '../support/fixtures.ts';

const runtimeNames: RuntimeName[] = ['local', 'containers'];

/** What a drill must come to, whatever the runtime. */
interface Outcome {
  status: RunReport['status'];
  exitCode: number;
  stores: Record<string, string>;
  checks: Record<string, string>;
}

const outcomeOf = (r: RunReport): Outcome => ({
  status: r.status,
  exitCode: r.exitCode,
  stores: Object.fromEntries(r.stores.map((s) => [s.name, s.status])),
  checks: Object.fromEntries(r.checks.map((c) => [c.id, c.status])),
});

const drills: { file: string; env: () => Record<string, string>; expect: (o: Outcome, r: RunReport) => void }[] = [
  {
    file: 'shop.yaml',
    env: () => ({}),
    expect: (o) => {
      assert.equal(o.status, 'passed');
      assert.deepEqual(o.checks, { customers: 'passed', events: 'passed', 'shop-baseline': 'passed', 'shop-schema': 'passed' });
    },
  },
  {
    file: 'platform.yaml',
    env: () => ({ RESTOREPROOF_PLATFORM: platform.dir }),
    expect: (o, r) => {
      assert.equal(o.status, 'passed', JSON.stringify(r.errors));
      assert.deepEqual(o.stores, { mongo: 'passed', db: 'passed', bucket: 'passed', sessions: 'passed' });
      assert.equal(Object.values(o.checks).filter((s) => s === 'passed').length, 14);
    },
  },
  {
    file: 'count-fails.yaml',
    env: () => ({}),
    expect: (o) => {
      assert.equal(o.exitCode, 1);
      assert.deepEqual(o.checks, { 'customers-ok': 'passed', 'too-many-customers': 'failed' });
    },
  },
  {
    file: 'truncated.yaml',
    env: () => ({}),
    expect: (o, r) => {
      assert.equal(o.exitCode, 1);
      assert.deepEqual(o.stores, { app: 'failed' });
      assert.deepEqual(Object.values(o.checks), ['skipped']);
      assert.match(r.stores[0]!.steps[0]!.error ?? '', /pg_restore/);
    },
  },
];

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
      let restoreEnv: (() => void) | undefined;
      before(function () {
        if (runtime === 'containers') {
          requireBackends(this, 'docker');
          restoreEnv = useTestbedImages();
        }
      });
      after(() => restoreEnv?.());

      for (const drill of drills) {
        it(`${drill.file}`, async () => {
          const report = await runDrill(fixtureDrill(drill.file), {
            runtime,
            reportDir: join(work, 'reports'),
            env: { ...process.env, RESTOREPROOF_FIXTURES: fixtures, ...drill.env() },
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
              assert.match(Object.values(c.ports ?? {})[0] ?? '', /^127\.0\.0\.1:\d+$/);
            }
            assert.equal(report.teardown.resources.filter((r) => r.kind === 'network').length, 1);
            assert.deepEqual(docker(['ps', '-aq', '--filter', `label=restoreproof.run=${report.runId}`]), '');
            assert.deepEqual(docker(['network', 'ls', '-q', '--filter', `label=restoreproof.run=${report.runId}`]), '');
          } else {
            assert.deepEqual((await readdir(tmpdir())).filter((d) => d.startsWith(`restoreproof-${report.runId}`)), []);
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
