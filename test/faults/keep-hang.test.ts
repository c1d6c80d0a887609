// Issue 14, deliverable 8: containers runtime + spec.app + --keep printed PASSED and never exited,
// because the app's followed log stream stayed open. The real CLI must exit by itself; a CLI still
// running after 3 minutes is killed and fails as hung (no timed assertion).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, requireBackends, testbedImageEnv, useTestbedBinaries } from '../support/backends.ts';
import { dockerCli, labelledWith, removeDockerObjects } from '../support/docker-cli.ts';
import { recordFault } from '../support/faults.ts';
import { runCli } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('faults: --keep with an app on containers', function () {
  let work: string;
  let runId: string | undefined;

  before(async function () {
    requireBackends(this, 'docker', 'postgres');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-keep-hang-'));
  });
  after(async () => {
    if (runId) {
      // The kept app and store, as a person would remove them.
      removeDockerObjects(labelledWith(runId));
      for (const owner of await runDirsNamed(`restoreproof-${runId}-owner.json`)) await rm(owner, { force: true });
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('run --keep exits once it has printed PASSED, leaving the app and its store running', async () => {
    await writeFile(join(work, 'license.sql'), "create table license (id int primary key, customer text, edition text, seats int, expires_at date);\ninsert into license values (1, 'ACME Corp', 'enterprise', 250, '2027-12-31');\n");
    const drill = join(work, 'keep-app.yaml');
    await writeFile(drill, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: keep-app }', 'spec:', '  runtime: containers',
      '  stores:', '    db:', '      engine: postgres', `      restore: [ { artefact: ${join(work, 'license.sql')}, database: app } ]`,
      '  app:', '    command: [node, server.ts]', `    cwd: ${join(repoRoot, 'test/fixtures/app')}`, '    startTimeout: 60s',
      '    env: { DATABASE_URL: "${stores.db.url:app}" }',
      '  checks:', '    - { id: ready, type: http, path: /ready, expect: { status: 200 }, retry: { until: 30s, interval: 200ms } }', '',
    ].join('\n'));
    const result = await runCli(['run', drill, '--keep', '--report-dir', join(work, 'reports')], { env: { ...testbedImageEnv(), RESTOREPROOF_HISTORY: '' }, killAfterMs: 180_000 });
    runId = /restoreproof run (\S+):/.exec(result.stderr)?.[1];
    recordFault('--keep with an app on containers (hang)', { clearError: !result.hung && result.code === 0 });
    assert.equal(result.hung, false, `the CLI did not exit after printing:\n${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /PASSED/);
    // Kept means still running after the harness exited: the app answers, and its container runs.
    const running = dockerCli(['ps', '-q', '--filter', `label=restoreproof.run=${runId}`]).split('\n').filter(Boolean);
    assert.equal(running.length, 2, 'the app and the store run on');
  });
});
