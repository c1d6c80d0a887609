import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countPrefix, etcdServerVersion, getEntry, getKey, listKeys } from '../../src/engines/etcd/client.ts';
import { etcdEngine } from '../../src/engines/etcd/index.ts';
import { startLocalEtcd } from '../../src/engines/etcd/local.ts';
import { etcdMutants, topPrefix } from '../../src/engines/etcd/mutants.ts';
import type { StoreSpecOf } from '../../src/drill/types.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import type { RuntimeName } from '../../src/drill/types.ts';
import type { RunReport } from '../../src/report/types.ts';
import { freePort, requireBackends, testbedImageEnv, useRuntimeBackends, useTestbedBinaries } from '../support/backends.ts';
import { runCli } from '../support/fixtures.ts';
import { runInlineDrill } from '../support/inline-drill.ts';
import { sh } from '../support/source-backups.ts';

/** The source keys: plain ones under /app/, and objects as the API server stores them under /registry/. */
const sourceKeys: [string, string][] = [
  ['/app/config/mode', 'primary'],
  ['/app/config/replicas', '3'],
  ['/app/feature/x', 'on'],
  ...[1, 2, 3].map((i): [string, string] => [`/registry/deployments/prod/web-${i}`, `k8s deployment ${i}`]),
  // A namespace whose name starts with "prod": its objects are not prod's.
  ['/registry/deployments/prod-canary/web-1', 'k8s deployment canary'],
  ['/registry/secrets/payments/card-key', 'k8s secret'],
  ['/registry/secrets/payments/db-password', 'k8s secret'],
  ['/registry/namespaces/prod', 'k8s namespace'],
  ['/registry/namespaces/payments', 'k8s namespace'],
];

const docker = (args: string[]) => execFileSync('docker', ['-H', testbedImageEnv().DOCKER_HOST!, ...args], { encoding: 'utf8' }).trim();

describe('etcd: an etcdctl snapshot restored into a run-owned data dir, keys, values, revision and Kubernetes objects checked', function () {
  let work: string;
  let snapshot: string;
  let truncated: string;
  let revision: number;

  before(async function () {
    requireBackends(this, 'etcd');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-etcd-'));
    // The source: a real etcd, written with etcdctl put, saved with etcdctl snapshot save.
    const [port, peer] = [await freePort(), await freePort()];
    const client = `http://127.0.0.1:${port}`;
    const source = spawn(process.env.RESTOREPROOF_ETCD!, ['--data-dir', join(work, 'source'), '--listen-client-urls', client, '--advertise-client-urls', client, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `default=http://127.0.0.1:${peer}`], { stdio: 'ignore' });
    const exited = new Promise((resolve) => source.once('exit', resolve));
    try {
      for (let i = 0; ; i++) {
        try {
          await etcdServerVersion({ host: '127.0.0.1', port, user: '', password: '' });
          break;
        } catch (err) {
          if (i > 100) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const etcdctl = process.env.RESTOREPROOF_ETCDCTL!;
      for (const [key, value] of sourceKeys) await sh(etcdctl, ['--endpoints', client, 'put', key, value]);
      snapshot = join(work, 'snapshot.db');
      await sh(etcdctl, ['--endpoints', client, 'snapshot', 'save', snapshot]);
    } finally {
      source.kill();
      await exited;
    }
    const status = JSON.parse(execFileSync(process.env.RESTOREPROOF_ETCDCTL!, ['snapshot', 'status', snapshot, '-w', 'json'], { encoding: 'utf8' })) as { revision: number };
    revision = status.revision;
    assert.equal(revision, sourceKeys.length + 1, 'each put is one revision after the first');
    truncated = join(work, 'truncated.db');
    await copyFile(snapshot, truncated);
    await truncate(truncated, (await stat(snapshot)).size - 1);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const drill = (name: string, artefact: string, checks: string[], runtime: RuntimeName) =>
    runInlineDrill(work, name, ['  stores:', '    cluster:', '      engine: etcd', '      restore:', `        - artefact: ${artefact}`, ...(checks.length ? ['  checks:', ...checks] : [])], runtime);

  const passing = () => [
    '    - { id: app-keys, type: etcdKeys, store: cluster, prefix: /app/, expect: { equals: 3 } }',
    `    - { id: all-keys, type: etcdKeys, store: cluster, prefix: "", expect: { equals: ${sourceKeys.length} } }`,
    '    - { id: mode, type: etcdKey, store: cluster, key: /app/config/mode, value: primary }',
    '    - { id: feature, type: etcdKey, store: cluster, key: /app/feature/x }',
    `    - { id: revision, type: etcdRevision, store: cluster, min: ${revision} }`,
    '    - { id: prod-deployments, type: kubeObjects, store: cluster, resource: deployments, namespace: prod, expect: { equals: 3 } }',
    '    - { id: deployments, type: kubeObjects, store: cluster, resource: deployments, expect: { equals: 4 } }',
    '    - { id: payments-secrets, type: kubeObjects, store: cluster, resource: secrets, namespace: payments, expect: { equals: 2 } }',
    '    - { id: namespaces, type: kubeObjects, store: cluster, resource: namespaces, expect: { min: 2 } }',
  ];
  const failing = () => [
    '    - { id: app-keys, type: etcdKeys, store: cluster, prefix: /app/, expect: { equals: 4 } }',
    '    - { id: mode, type: etcdKey, store: cluster, key: /app/config/mode, value: replica }',
    '    - { id: missing, type: etcdKey, store: cluster, key: /app/config/missing }',
    `    - { id: revision, type: etcdRevision, store: cluster, min: ${revision + 1} }`,
    '    - { id: prod-deployments, type: kubeObjects, store: cluster, resource: deployments, namespace: prod, expect: { min: 40 } }',
    '    - { id: payments-secrets, type: kubeObjects, store: cluster, resource: secrets, namespace: payments, expect: { equals: 3 } }',
  ];

  const assertNothingLeft = (report: RunReport, runtime: RuntimeName) => {
    if (runtime !== 'containers') return; // runInlineDrill checked the local temp dirs and processes
    assert.equal(docker(['ps', '-aq', '--filter', `label=restoreproof.run=${report.runId}`]), '', 'no container of the run is left');
    assert.equal(docker(['network', 'ls', '-q', '--filter', `label=restoreproof.run=${report.runId}`]), '', 'no network of the run is left');
  };

  describe('mutants: delete-key, on a store restored from the snapshot', function () {
    let store: StartedStore;
    const entries = async () => {
      const all: [string, string][] = [];
      for await (const key of listKeys(store.endpoint)) all.push([key.toString(), (await getEntry(store.endpoint, key))!.value.toString()]);
      return all;
    };

    before(async () => {
      const spec = { engine: 'etcd', restore: [{ artefact: snapshot }] } as StoreSpecOf<'etcd'>;
      const artefact = (await etcdEngine.inspect(spec, 0, work))!;
      store = await startLocalEtcd({ runId: 'etcd-mutants', drillName: 'mutants', storeName: 'cluster', spec, drillDir: work, signal: new AbortController().signal, artefacts: [artefact] });
    });
    after(async () => {
      await store?.stop();
    });

    it('one key per top-level prefix is deleted, so a count or key read sees it gone; the undo puts the value back under a new revision', async () => {
      const mutants = await etcdMutants.state(store, { engine: 'etcd', restore: [] } as never, { databases: [], signal: new AbortController().signal });
      assert.deepEqual(mutants.map((m) => [m.id, m.description, m.hint]), [
        ['delete-key:/app/', 'deleting key /app/config/mode (the first under /app/)', 'add an etcdKeys check on "/app/", or an etcdKey check on /app/config/mode'],
        ['delete-key:/registry/deployments/', 'deleting key /registry/deployments/prod-canary/web-1 (the first under /registry/deployments/)', 'add a kubeObjects check on deployments, or an etcdKeys check on "/registry/deployments/"'],
        ['delete-key:/registry/namespaces/', 'deleting key /registry/namespaces/payments (the first under /registry/namespaces/)', 'add a kubeObjects check on namespaces, or an etcdKeys check on "/registry/namespaces/"'],
        ['delete-key:/registry/secrets/', 'deleting key /registry/secrets/payments/card-key (the first under /registry/secrets/)', 'add a kubeObjects check on secrets, or an etcdKeys check on "/registry/secrets/"'],
      ]);
      const before = await entries();
      assert.equal(before.length, sourceKeys.length);
      let { revision: last } = await countPrefix(store.endpoint, '');
      for (const mutant of mutants) {
        const key = /^deleting key (\S+)/.exec(mutant.description)![1]!;
        const undo = await mutant.apply(new AbortController().signal);
        assert.equal(await getKey(store.endpoint, key), undefined, mutant.id);
        assert.equal((await countPrefix(store.endpoint, mutant.target)).count, before.filter(([k]) => k.startsWith(mutant.target)).length - 1, mutant.id);
        await undo();
        assert.deepEqual(await entries(), before, `${mutant.id} undone`);
        const { revision } = await countPrefix(store.endpoint, '');
        assert.equal(revision, last + 2, 'the delete and the put are two new revisions');
        last = revision;
      }
    });

    it('topPrefix groups Kubernetes objects by resource and other keys by their first segment', () => {
      assert.deepEqual(['/registry/pods/ns/p', '/registry/ranges', '/app/a/b', '/solo', 'bare', 'x/y'].map(topPrefix), ['/registry/pods/', '/registry/', '/app/', '/', '', 'x/']);
    });
  });

  for (const runtime of ['local', 'containers'] satisfies RuntimeName[]) {
    describe(`runtime ${runtime}`, function () {
      useRuntimeBackends(runtime);

      it('every check type passes on the restored snapshot', async () => {
        const report = await drill(`etcd-pass-${runtime}`, snapshot, passing(), runtime);
        assert.equal(report.exitCode, 0, JSON.stringify([report.errors, report.checks]));
        assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.actual]), [
          ['app-keys', 'passed', 3], ['all-keys', 'passed', sourceKeys.length], ['mode', 'passed', { size: 7, value: 'primary' }], ['feature', 'passed', { size: 2 }],
          ['revision', 'passed', revision], ['prod-deployments', 'passed', 3], ['deployments', 'passed', 4], ['payments-secrets', 'passed', 2], ['namespaces', 'passed', 2],
        ]);
        assert.match(report.artefacts[0]!.format, new RegExp(`^etcd snapshot \\(SHA-256 verified; revision ${revision}, \\d+ bolt keys, hash \\d+\\)$`));
        // The digest the trailer check took as it read the snapshot, the evidence's.
        assert.equal(report.artefacts[0]!.sha256, createHash('sha256').update(await readFile(snapshot)).digest('hex'));
        const step = report.stores[0]!.steps[0]!;
        assert.equal(step.status, 'passed', step.error);
        assert.deepEqual(step.details, { keys: sourceKeys.length, revision });
        assert.match(report.stores[0]!.version ?? '', /^3\./);
        if (runtime === 'containers') {
          const image = testbedImageEnv().RESTOREPROOF_IMAGE_ETCD!;
          assert.ok(report.teardown.resources.some((r) => r.kind === 'container' && r.image === image && r.removed), JSON.stringify(report.teardown.resources));
        }
        assertNothingLeft(report, runtime);
      });

      it('each check type fails when its data says otherwise, and the drill exits 1', async () => {
        const report = await drill(`etcd-fail-${runtime}`, snapshot, failing(), runtime);
        assert.equal(report.exitCode, 1);
        assert.deepEqual(report.checks.map((c) => [c.id, c.status, c.message]), [
          ['app-keys', 'failed', '3 keys under "/app/", expected = 4'],
          ['mode', 'failed', '/app/config/mode is "primary", not "replica"'],
          ['missing', 'failed', '/app/config/missing does not exist'],
          ['revision', 'failed', `revision ${revision}, older than ${revision + 1}`],
          ['prod-deployments', 'failed', '3 deployments in namespace prod (keys under /registry/deployments/prod/), expected >= 40'],
          ['payments-secrets', 'failed', '2 secrets in namespace payments (keys under /registry/secrets/payments/), expected = 3'],
        ]);
        assertNothingLeft(report, runtime);
      });

      it('a snapshot truncated by one byte fails at verify, naming it, before anything starts', async () => {
        const report = await drill(`etcd-truncated-${runtime}`, truncated, passing(), runtime);
        assert.equal(report.exitCode, 1);
        assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
        assert.equal(report.errors[0]!.message, `${truncated}: is ${(await stat(truncated)).size} bytes, not an etcd snapshot's bolt pages plus its 32-byte SHA-256`);
        for (const phase of ['provision', 'restore', 'checks']) assert.equal(report.phases.find((p) => p.name === phase)!.status, 'skipped', phase);
        assert.deepEqual(report.teardown.resources, []);
        assertNothingLeft(report, runtime);
      });
    });
  }

  it('a snapshot whose bytes changed (same size) fails its SHA-256 check; the CLI names it and exits 1', async () => {
    const corrupt = join(work, 'corrupt.db');
    const bytes = await readFile(snapshot);
    bytes[4096 + 100] = bytes[4096 + 100]! ^ 0xff;
    await writeFile(corrupt, bytes);
    const file = join(work, 'etcd-corrupt.yaml');
    await writeFile(file, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: etcd-corrupt }', 'spec:', '  runtime: local', '  stores:', '    cluster:', '      engine: etcd', '      restore:', `        - artefact: ${corrupt}`].join('\n'));
    const result = await runCli(['run', file, '--report-dir', join(work, 'reports-cli')]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`${corrupt.replace(/[.]/g, '\\.')}: fails its integrity check: the SHA-256 at its end does not match its contents`));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
});
