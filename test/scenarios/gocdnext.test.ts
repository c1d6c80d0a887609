import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeGocdnextScenario } from '../../scripts/scenarios/gocdnext.ts';
import { runDrill } from '../../src/run/run.ts';
import { repoRoot } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { useReportPages } from '../support/report-pages.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { assertMutationPassed } from '../support/mutation.ts';

const drill = join(repoRoot, 'drills/examples/gocdnext.yaml');
const secretKey = randomBytes(32);

// The backups are made once (with the real tools) and restored on every runtime.
let work: string | undefined;
let backups: Promise<{ good: Awaited<ReturnType<typeof makeGocdnextScenario>>; altered: Awaited<ReturnType<typeof makeGocdnextScenario>> }> | undefined;
const made = () =>
  (backups ??= (async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-gocdnext-'));
    return {
      good: await makeGocdnextScenario({ out: join(work, 'good'), secretKey }),
      altered: await makeGocdnextScenario({ out: join(work, 'altered'), secretKey, damage: 'altered-artefact' }),
    };
  })());

after(async () => {
  delete process.env.GOCDNEXT_SECRET_KEY;
  if (work) await rm(work, { recursive: true, force: true });
});

forEachRuntime('reference drill: gocdnext (pg_dump -F c + artefact bucket with SHA-256 metadata in PostgreSQL, encrypted secrets) and its negative twin', { backends: ['postgres', 'minio'] }, (runtime) => {
  const pages = useReportPages();
  const run = async (dir: string, mutants = false) => {
    process.env.GOCDNEXT_SECRET_KEY = secretKey.toString('base64'); // kept outside the backup, as in production
    const reportDir = join(work!, `reports-${runtime}`);
    const report = await runDrill(drill, { runtime, env: { ...process.env, GOCDNEXT_BACKUPS: dir }, reportDir, mutants });
    assertValidReport(report);
    assert.equal(report.runtime, runtime);
    await pages.assertOpen(report, reportDir);
    return report;
  };

  // On the local runtime the passing run is also the mutation run: the same restore is then damaged
  // one mutant at a time, so the drill is shown to fail on what its runbook would call a bad restore.
  it(runtime === 'local' ? 'passes on a good backup, reports the orphan and notices every mutant' : 'passes on a good backup and reports the orphan', async () => {
    const { good } = await made();
    const report = await run(good.dir, runtime === 'local');
    assert.equal(report.status, 'warned', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed'), report.mutation?.mutants.filter((m) => m.status !== 'killed')], null, 2));
    assert.equal(report.checks.find((c) => c.id === 'table-contents')!.status, 'passed');
    if (runtime === 'local') {
      const mutation = assertMutationPassed('gocdnext', report);
      // The bucket's damaged copies are seen by the reachability check, restored beside the good dump.
      assert.deepEqual(mutation.mutants.filter((m) => m.store === 'artifacts' && m.kind.endsWith('-artefact')).map((m) => m.killedBy), ['artefacts-in-bucket', 'artefacts-in-bucket']);
    }
    assert.equal(report.exitCode, 0);
    const reach = report.checks.find((c) => c.id === 'artefacts-in-bucket')!;
    assert.equal(reach.status, 'warned');
    assert.deepEqual((reach.actual as { orphans: string[] }).orphans, ['runs/orphaned/leftover.bin']);
    assert.equal((reach.actual as { checksumsVerified: number }).checksumsVerified, good.artefacts);
    assert.equal(report.checks.filter((c) => c.status === 'failed').length, 0);
    assert.equal(JSON.stringify(report).includes(secretKey.toString('base64')), false);
  });

  it('twin: an artefact whose bytes no longer match the SHA-256 in PostgreSQL fails, naming it', async () => {
    const { altered } = await made();
    const report = await run(altered.dir);
    assert.equal(report.exitCode, 1);
    const failed = report.checks.filter((c) => c.status === 'failed');
    assert.deepEqual(failed.map((c) => c.id), ['artefacts-in-bucket']);
    assert.deepEqual((failed[0]!.actual as { mismatched: { key: string }[] }).mismatched.map((m) => m.key), [altered.altered]);
  });
});
