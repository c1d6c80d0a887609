// A store's checks start when that store has restored, while another store still restores, and the
// report keeps the drill's order. The slow store's dump waits for a gate file that the fast store's
// check opens, so the order is proven without timing anything: without the pipeline the dump waits
// out its loop and the fast store's check ends after it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../../src/run/run.ts';
import type { Reporter } from '../../src/report/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport, processesMatching } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('run: a pipeline per store, digests read alongside the restore (local runtime, real PostgreSQL)', function () {
  let work: string;
  before(async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-pipeline-'));
    // The servers run as an unprivileged account, which must see the gate file appear.
    await chmod(work, 0o755);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /**
   * Two PostgreSQL stores: `faststore` restores two rows at once; `slowstore` three rows, then its
   * dump waits for `gate` to appear, up to a minute, so a run that never opens it still ends (and
   * the test's assertions fail it).
   */
  async function writeTwoStoreDrill(name: string, gate: string, checks: string[]): Promise<string> {
    await writeFile(join(work, `${name}-fast.sql`), 'CREATE TABLE quick (id int);\nINSERT INTO quick VALUES (1), (2);\n');
    await writeFile(join(work, `${name}-slow.sql`), [
      'CREATE TABLE slow (id int);',
      'INSERT INTO slow VALUES (1), (2), (3);',
      `DO $$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN (pg_stat_file('${gate}', true)).size IS NOT NULL; PERFORM pg_sleep(0.1); END LOOP; END $$;`,
      '',
    ].join('\n'));
    const drill = join(work, `${name}.yaml`);
    await writeFile(drill, [
      'apiVersion: restoreproof/v1',
      'kind: RestoreDrill',
      `metadata: { name: ${name} }`,
      'spec:',
      '  runtime: local',
      '  stores:',
      `    slowstore: { engine: postgres, restore: [{ artefact: ${name}-slow.sql, database: app }] }`,
      `    faststore: { engine: postgres, restore: [{ artefact: ${name}-fast.sql, database: app }] }`,
      '  checks:',
      ...checks,
      '',
    ].join('\n'));
    return drill;
  }

  it("checks the store that restored first while the other restores, and reports checks in the drill's order", async () => {
    const gate = join(work, 'gate');
    const drill = await writeTwoStoreDrill('pipeline', gate, [
      '    - { id: slow-rows, type: count, store: slowstore, database: app, table: slow, expect: { equals: 3 } }',
      '    - { id: fast-rows, type: count, store: faststore, database: app, table: quick, expect: { equals: 2 } }',
    ]);
    const events: string[] = [];
    const reporter: Reporter = {
      onStepEnd: ({ store }) => void events.push(`restored ${store}`),
      onCheckEnd: (result) => {
        events.push(`checked ${result.id}`);
        if (result.id === 'fast-rows') void writeFile(gate, 'open\n');
      },
    };
    const report = await runDrill(drill, { reportDir: join(work, 'reports'), reporters: [reporter] });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify(report.errors));
    assert.deepEqual(events, ['restored faststore', 'checked fast-rows', 'restored slowstore', 'checked slow-rows']);
    assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['slow-rows', 'passed', 3], ['fast-rows', 'passed', 2]]);
    // Digests are read alongside the restore, not before it, and still reach the evidence.
    const digests = Object.fromEntries(await Promise.all(['pipeline-slow.sql', 'pipeline-fast.sql'].map(async (f) => [f, createHash('sha256').update(await readFile(join(work, f))).digest('hex')] as const)));
    assert.deepEqual(report.artefacts.map((a) => [a.store, a.sha256]), [['slowstore', digests['pipeline-slow.sql']], ['faststore', digests['pipeline-fast.sql']]]);
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), []);
  });

  it('stops a store whose checks are done while another store still restores, and records its removal', async () => {
    // The slow store's dump waits for the gate, which opens only once the fast store's server and
    // data dir are gone: without the early stop it would open at the end, after a minute.
    const gate = join(work, 'gate-teardown');
    const runId = `${new Date().toISOString().replace(/[-:]|\.\d+/g, "")}-${process.pid.toString(16).padStart(6, "0").slice(-6)}`;
    const drill = await writeTwoStoreDrill('pipeline-teardown', gate, [
      '    - { id: fast-rows, type: count, store: faststore, database: app, table: quick, expect: { equals: 2 } }',
    ]);
    const gone = async () => (await processesMatching(`restoreproof-${runId}-faststore-`)).length === 0 && (await runDirsNamed(`restoreproof-${runId}-faststore-`)).length === 0;
    let openedAfterStop = false;
    const reporter: Reporter = {
      onCheckEnd: (result) => {
        if (result.id !== 'fast-rows') return;
        void (async () => {
          for (let i = 0; i < 300 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 100));
          openedAfterStop = await gone();
          await writeFile(gate, 'open\n');
        })();
      },
      onStepEnd: ({ store }) => {
        if (store === 'slowstore') assert.ok(openedAfterStop, 'the slow store finished restoring before the fast store was stopped');
      },
    };
    const report = await runDrill(drill, { runId, reportDir: join(work, 'reports'), reporters: [reporter] });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify(report.errors));
    assert.ok(openedAfterStop, 'the fast store was still running when its checks were done');
    assert.equal(report.teardown.status, 'completed');
    const fast = report.teardown.resources.filter((r) => r.store === 'faststore');
    assert.ok(fast.length > 0 && fast.every((r) => r.removed), JSON.stringify(report.teardown.resources));
  });
});
