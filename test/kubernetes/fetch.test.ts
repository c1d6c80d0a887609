// fetch: pod on the test bed cluster: the store's pod downloads its artefact from S3 itself
// (init container, presigned URL) and the harness checks the digest the pod computed before any
// restore. The S3 server is a test-owned MinIO on this machine's own address, which pods reach
// through the bridge; the cluster's pods and the harness see the same URL.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { s3Client } from '../../src/engines/s3/client.ts';
import { runDrill } from '../../src/run/run.ts';
import type { RunReport as Report } from '../../src/report/types.ts';
import { freePort, requireBackends, testbed, useTestbedBinaries, useTestbedCluster } from '../support/backends.ts';
import { assertValidReport, demoBackups, runCli } from '../support/fixtures.ts';

/** An address of this machine that pods reach (not loopback, not a bridge of Docker or the cluster). */
function hostAddress(): string {
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (/^(lo|docker|br-|veth|rptb|cni)/.test(name)) continue;
    const v4 = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address for the pods to reach');
}

describe('fetch: pod on the kubernetes runtime (test bed cluster)', function () {
  let work: string;
  let minio: ChildProcess | undefined;
  let endpoint: string;
  let env: Record<string, string>;
  let restoreEnv: (() => void) | undefined;
  let core: CoreV1Api;
  const user = `rp${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  before(async function () {
    requireBackends(this, 'kubernetes', 'docker', 'postgres', 'minio');
    useTestbedBinaries();
    const cluster = useTestbedCluster({ RP_S3_KEY: user, RP_S3_SECRET: password });
    restoreEnv = cluster.restore;
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfig);
    core = config.makeApiClient(CoreV1Api);
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-k8s-fetch-'));
    const host = hostAddress();
    const port = await freePort();
    const server = (testbed().backends.minio as { server: string }).server;
    minio = spawn(server, ['server', join(work, 'minio'), '--address', `${host}:${port}`, '--console-address', `127.0.0.1:${await freePort()}`, '--quiet'], {
      env: { ...process.env, MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: password, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off', MINIO_CI_CD: '1' },
      stdio: 'ignore',
    });
    endpoint = `http://${host}:${port}`;
    const client = await s3Client({ host, port, user, password });
    for (let i = 0; ; i++) {
      try {
        await client.listBuckets();
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await client.makeBucket('backups');
    const fixtures = await demoBackups();
    const put = async (key: string, file: string, digest?: string) => {
      const data = await readFile(file);
      await client.putObject('backups', key, data);
      await client.putObject('backups', `${key}.sha256`, Buffer.from(`${digest ?? sha(data)}  ${key.split('/').pop()}\n`));
    };
    await put('nightly/shop.dump', fixtures.shopDump);
    await put('nightly/analytics.sql.gz', fixtures.analyticsSqlGz);
    // The object is fine; the sidecar records another digest (a backup altered after it was taken).
    await put('altered/shop.dump', fixtures.shopDump, '0'.repeat(64));
    // A gzip stream cut in half, with a sidecar that matches it: only the restore can tell.
    const cut = join(work, 'analytics.sql.gz');
    await copyFile(fixtures.analyticsSqlGz, cut);
    await truncate(cut, Math.floor((await stat(fixtures.analyticsSqlGz)).size / 2));
    await put('cut/analytics.sql.gz', cut);
    env = { RP_S3_ENDPOINT: endpoint, RP_S3_KEY: user, RP_S3_SECRET: password };
    process.env.RP_S3_ENDPOINT = endpoint;
  });
  after(async () => {
    minio?.kill('SIGTERM');
    restoreEnv?.();
    delete process.env.RP_S3_ENDPOINT;
    if (work) await rm(work, { recursive: true, force: true });
  });

  const s3 = '{ endpoint: "${RP_S3_ENDPOINT}", accessKey: { env: RP_S3_KEY }, secretKey: { env: RP_S3_SECRET } }';
  async function drill(name: string, steps: string[], checks: string[] = []): Promise<string> {
    const file = join(work, `${name}.yaml`);
    await writeFile(file, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:', '  runtime: kubernetes', '  stores:', '    db:', '      engine: postgres', '      restore:',
      ...steps.map((s) => `        - ${s}`),
      ...(checks.length ? ['  checks:', ...checks.map((c) => `    - ${c}`)] : []),
    ].join('\n'));
    return file;
  }
  const run = async (file: string): Promise<Report> => {
    const report = await runDrill(file, { reportDir: join(work, 'reports'), env: { ...process.env, ...env } });
    assertValidReport(report);
    return report;
  };
  const namespacesOf = async (runId: string) => (await core.listNamespace({ labelSelector: `restoreproof.run=${runId}` })).items.map((n) => n.metadata!.name);

  it('the pod downloads a custom dump and a .sql.gz, the digests are checked, both restore; the URL is in no report', async () => {
    const file = await drill('pod-fetch', [
      `{ database: shop, artefact: { source: s3://backups/nightly/shop.dump, fetch: pod, sha256: { sidecar: true }, s3: ${s3} } }`,
      `{ database: analytics, artefact: { source: s3://backups/nightly/analytics.sql.gz, fetch: pod, sha256: { sidecar: true }, s3: ${s3} } }`,
    ], [
      '{ id: customers, type: count, store: db, table: public.customers, expect: { equals: 500 } }',
      '{ id: events, type: count, store: db, database: analytics, table: events, expect: { equals: 1000 } }',
    ]);
    const report = await run(file);
    assert.equal(report.status, 'passed', JSON.stringify({ errors: report.errors, steps: report.stores[0]?.steps }, null, 2));
    const fixtures = await demoBackups();
    const digests = [sha(await readFile(fixtures.shopDump)), sha(await readFile(fixtures.analyticsSqlGz))];
    assert.deepEqual(report.artefacts.map((a) => [a.sha256, a.source?.fetchedBy, a.source?.downloaded, a.source?.integrity.sha256, a.source?.integrity.size]), digests.map((d) => [d, 'pod', false, 'verified', 'verified']));
    // Named by the source the pod fetched, not by the path inside the pod.
    assert.deepEqual(report.artefacts.map((a) => a.path), ['s3://backups/nightly/shop.dump', 's3://backups/nightly/analytics.sql.gz']);
    assert.deepEqual(report.artefacts.map((a) => a.format), ['custom', 'plain']);
    assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['customers', 'passed'], ['events', 'passed']]);
    // Nothing was staged on this machine: no download dir was ever made.
    assert.deepEqual(report.teardown.resources.filter((r) => r.kind === 'directory' && /-staging-/.test(r.id)), []);
    // The Secret with the presigned URLs and the egress policy were made, and went with the namespace.
    const ids = report.teardown.resources.map((r) => `${r.kind} ${r.id.split('/').pop()}`);
    for (const id of ['secret db-fetch', 'networkpolicy db-fetch']) assert.ok(ids.includes(id), ids.join(', '));
    assert.deepEqual(await namespacesOf(report.runId), []);
    for (const name of await readdir(join(work, 'reports'))) {
      const text = await readFile(join(work, 'reports', name), 'utf8').catch(() => '');
      assert.ok(!/X-Amz-Signature|X-Amz-Credential/i.test(text) && !text.includes(password), `${name} holds a presigned URL or the secret key`);
    }
  });

  it('bad input: a digest that differs from the sidecar fails before any restore, naming the artefact', async () => {
    const file = await drill('pod-fetch-altered', [`{ database: shop, artefact: { source: s3://backups/altered/shop.dump, fetch: pod, sha256: { sidecar: true }, s3: ${s3} } }`]);
    const report = await run(file);
    assert.equal(report.status, 'failed');
    const message = report.errors.map((e) => e.message).join('\n');
    assert.match(message, /s3:\/\/backups\/altered\/shop\.dump: sha256 mismatch: the store's pod computed [0-9a-f]{64}, (altered\/)?shop\.dump\.sha256 says 0{64}/);
    assert.ok(report.stores[0]!.steps.every((s) => s.status !== 'passed'), JSON.stringify(report.stores[0]!.steps));
    // The record keeps what the pod computed, marked as not matching.
    assert.equal(report.artefacts[0]!.source?.integrity.sha256, 'mismatch');
    assert.equal(report.artefacts[0]!.sha256, sha(await readFile((await demoBackups()).shopDump)));
    assert.deepEqual(await namespacesOf(report.runId), []);
  });

  it('bad input: a truncated .sql.gz that the pod fetched fails the restore in the pod (gunzip -t), naming the artefact', async () => {
    const file = await drill('pod-fetch-cut', [`{ database: analytics, artefact: { source: s3://backups/cut/analytics.sql.gz, fetch: pod, sha256: { sidecar: true }, s3: ${s3} } }`]);
    const report = await run(file);
    assert.equal(report.status, 'failed');
    const step = report.stores[0]!.steps[0]!;
    assert.equal(step.status, 'failed');
    assert.match(`${step.error}\n${step.stderr}`, /unexpected end of file/);
    assert.equal(report.artefacts[0]!.source?.integrity.sha256, 'verified');
  });

  it('bad input: a fetch image that cannot run the download fails the drill naming the artefact and the init container', async () => {
    const pause = 'restoreproof-testbed/pause:3.10';
    const file = await drill('pod-fetch-noshell', [`{ database: shop, artefact: { source: s3://backups/nightly/shop.dump, fetch: pod, s3: ${s3} } }`]);
    const saved = process.env.RESTOREPROOF_IMAGE_FETCH;
    process.env.RESTOREPROOF_IMAGE_FETCH = pause;
    try {
      const report = await run(file);
      assert.equal(report.status, 'failed');
      const message = report.errors.map((e) => e.message).join('\n');
      // containerd cannot start sh in an image without one: the init container ends with its reason.
      assert.match(message, /s3:\/\/backups\/nightly\/shop\.dump: the store's pod could not download it \(init container fetch-0 exited with code \d+, \w+/);
      assert.deepEqual(await namespacesOf(report.runId), []);
    } finally {
      process.env.RESTOREPROOF_IMAGE_FETCH = saved;
    }
  });

  it('plan says who downloads what, and touches nothing', async () => {
    const file = await drill('pod-fetch-plan', [`{ database: shop, artefact: { source: s3://backups/nightly/shop.dump, fetch: pod, s3: ${s3} } }`]);
    const result = await runCli(['plan', file, '--runtime', 'kubernetes'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /db: step 1 is fetched first: s3:\/\/backups\/nightly\/shop\.dump, .*downloaded by the store's pod/);
    assert.match(result.stdout, /1 fetch init container\(s\) from restoreproof-testbed\/node-app:\d+ download the artefact\(s\) through presigned URLs \(Secret and egress NetworkPolicy db-fetch\)/);
    assert.deepEqual((await core.listNamespace({ labelSelector: 'restoreproof.drill=pod-fetch-plan' })).items, []);
  });

  it('bad input: fetch: pod on a runtime whose stores cannot fetch is a config error naming the line', async () => {
    const file = await drill('pod-fetch-local', [`{ database: shop, artefact: { source: s3://backups/nightly/shop.dump, fetch: pod, s3: ${s3} } }`]);
    const result = await runCli(['run', file, '--runtime', 'local', '--report-dir', join(work, 'reports-local')], { env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /pod-fetch-local\.yaml:10:\d+.*spec\.stores\.db\.restore\[0\]\.artefact\.fetch: fetch: pod needs a runtime whose store pods download artefacts themselves \(kubernetes\); runtime local cannot/);
  });
});
