// Issue 14 on the kubernetes runtime (the cluster suites run last; see test/faults/backup-execution.test.ts
// for local and containers): a psql meta-command in a plain SQL backup fails naming the line, and a
// backup's COPY … FROM PROGRAM runs in the store's pod, not as root, and sees none of the harness's secrets.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../../src/run/run.ts';
import { requireBackends, useTestbedBinaries, useTestbedCluster } from '../support/backends.ts';
import { recordFault } from '../support/faults.ts';
import { assertValidReport } from '../support/fixtures.ts';

describe('faults: a backup on the kubernetes runtime (test bed cluster)', function () {
  let work: string;
  let restoreEnv: (() => void) | undefined;
  const secret = `k8s-secret-${randomBytes(12).toString('hex')}`;

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', 'postgres');
    useTestbedBinaries();
    restoreEnv = useTestbedCluster({ RP_FAULT_K8S_SECRET: secret }).restore;
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-k8s-exec-'));
  });
  after(async () => {
    restoreEnv?.();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const drill = async (name: string, sql: string, checks: string[]) => {
    await writeFile(join(work, `${name}.sql`), sql);
    const file = join(work, `${name}.yaml`);
    await writeFile(file, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:', '  runtime: kubernetes', '  stores:', '    db:', '      engine: postgres', '      restore:',
      `        - { artefact: ${name}.sql, database: app }`, ...(checks.length ? ['  checks:', ...checks] : [])].join('\n'));
    const report = await runDrill(file, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
    assertValidReport(report);
    return report;
  };

  it('the \\! backup fails the restore naming the line (E_ARTEFACT)', async () => {
    const report = await drill('k8s-pwn', 'create table t(id int);\n\\! id > /tmp/pwned-by-backup\n', []);
    const step = report.stores[0]!.steps[0]!;
    recordFault('backup: psql meta-command [kubernetes]', { clearError: step.errorCode === 'E_ARTEFACT' && /line 2/.test(step.error ?? '') });
    assert.equal(report.exitCode, 1);
    assert.equal(step.errorCode, 'E_ARTEFACT');
    assert.match(step.error ?? '', /k8s-pwn\.sql: line 2: psql meta-command \\! is not allowed/);
  });

  it('COPY … FROM PROGRAM runs in the pod, not as root, and sees no harness secret', async () => {
    const report = await drill('k8s-program', "create table env_lines(line text);\nCOPY env_lines FROM PROGRAM 'env';\ncreate table whoami(uid int);\nCOPY whoami FROM PROGRAM 'id -u';\n", [
      '    - { id: program-ran, type: query, store: db, database: app, sql: "select count(*) from env_lines", expect: { min: 1 } }',
      '    - { id: not-root, type: query, store: db, database: app, sql: "select min(uid) from whoami", expect: { min: 1 } }',
      `    - { id: no-secret, type: query, store: db, database: app, sql: "select count(*) from env_lines where line like '%${secret}%' or line like 'RP_FAULT_%' or line like 'KUBECONFIG=%'", expect: { equals: 0 } }`,
    ]);
    recordFault('backup: COPY FROM PROGRAM [kubernetes]', { clearError: report.status === 'passed' });
    assert.deepEqual(report.checks.filter((c) => c.status !== 'passed').map((c) => [c.id, c.actual]), [], JSON.stringify(report.errors));
  });
});
