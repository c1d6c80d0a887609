// A mariadb-backup xbstream and its binlogs restored to a target on the kubernetes runtime: the backup
// goes into the pod through the staging container before mariadbd starts (as etcd's snapshot does),
// the binlogs are staged and replayed by exec. Rows after the target are absent; the run's namespace is removed.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../../src/run/run.ts';
import { requireBackends, useTestbedBinaries, useTestbedCluster } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { makeMariadbPitrFixture, type MariadbPitrFixture } from '../support/mariadb-source.ts';

describe('mariadb: physical restore and binlog point-in-time recovery on the kubernetes runtime', function () {
  let work: string;
  let source: MariadbPitrFixture;
  let restoreEnv: (() => void) | undefined;

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', 'mariadb');
    useTestbedBinaries();
    restoreEnv = useTestbedCluster().restore;
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-k8s-mariadb-physical-'));
    source = await makeMariadbPitrFixture(work);
  });
  after(async () => {
    restoreEnv?.();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('an xbstream plus binlogs to a target: rows before the target present, rows after it absent', async () => {
    const file = join(work, 'pitr.yaml');
    await writeFile(file, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: mariadb-pitr }', 'spec:', '  runtime: kubernetes',
      '  stores:', '    db:', '      engine: mariadb', '      restore:',
      `        - { artefact: ${JSON.stringify(source.xbstream)}, binlogs: [${JSON.stringify(source.binlogs)}], target: "${source.target}" }`,
      '  checks:',
      '    - { id: rows, type: count, store: db, table: shop.items, expect: { equals: 3 } }',
      '    - { id: row-4, type: count, store: db, table: shop.items, where: "id = 4", expect: { equals: 0 } }',
    ].join('\n'));
    const report = await runDrill(file, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
    assertValidReport(report);
    assert.equal(report.exitCode, 0, JSON.stringify([report.errors, report.checks]));
    assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [['rows', 'passed', 3], ['row-4', 'passed', 0]]);
    assert.equal(report.stores[0]!.steps[0]!.details!.target, source.target);
    assert.equal(report.teardown.status, 'completed');
    assert.deepEqual(report.teardown.resources.filter((r) => !r.removed).map((r) => `${r.kind} ${r.id}`), [], 'every resource of the run is removed');
  });
});
