import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, requireBackends, testbed, testbedImageEnv } from '../support/backends.ts';
import { demoBackups, fixtureDrill, processesMatching, readReport, runCli, type CliResult } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * `doctor` and the same preflight in `run`: each thing a drill needs and the environment lacks
 * (a tool, the Docker engine, an image, a secret) exits 3 with a line naming it, and a run stops
 * before anything is provisioned, its report still written with status could-not-run.
 */
describe('doctor and the run preflight: exit 3 when the drill cannot run', function () {
  let work: string;
  let fixtures: Record<string, string>;

  before(async function () {
    requireBackends(this, 'postgres');
    fixtures = { RESTOREPROOF_FIXTURES: (await demoBackups()).dir };
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-doctor-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const drillFile = async (name: string, spec: string[]) => {
    const file = join(work, `${name}.yaml`);
    await writeFile(file, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:', ...spec, ''].join('\n'));
    return file;
  };
  const shopStore = ['  stores:', '    app:', '      engine: postgres', '      restore:', '        - { artefact: "${RESTOREPROOF_FIXTURES}/shop.dump", database: shop }'];
  const runIdOf = (result: CliResult) => /restoreproof run (\S+):/.exec(result.stderr)?.[1] ?? assert.fail(`no run id in:\n${result.stderr}`);

  /** `run` stopped in the preflight: exit 3, the error line, a written report, and nothing of the run left anywhere. */
  async function assertStoppedBeforeProvisioning(result: CliResult, error: RegExp, code: string) {
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, error);
    assert.match(result.stderr, /^COULD-NOT-RUN: /m);
    const runId = runIdOf(result);
    const report = await readReport(join(work, 'reports'), runId);
    assert.equal(report.status, 'could-not-run');
    assert.equal(report.exitCode, 3);
    assert.ok(report.errors.some((e) => e.code === code), JSON.stringify(report.errors));
    assert.deepEqual(report.phases.map((p) => [p.name, p.status]).filter(([name]) => name !== 'load'), [
      ['preflight', 'failed'], ['verify', 'skipped'], ['provision', 'skipped'], ['restore', 'skipped'], ['checks', 'skipped'], ['teardown', 'passed'],
    ]);
    assert.deepEqual(report.teardown.resources, []);
    assert.ok(report.preflight!.some((i) => i.status === 'missing' && i.code === code), JSON.stringify(report.preflight));
    // CI's test view shows an error (could not run), not only skipped checks.
    const junit = await readFile(join(work, 'reports', report.reports.junit!), 'utf8');
    assert.match(junit, /<testsuites [^>]*errors="1"/);
    assert.match(junit, /<testcase classname="[^"]+" name="drill">\n\s*<error message="[^"]+">/);
    assert.deepEqual(await runDirsNamed(`restoreproof-${runId}`), [], 'no temp dir of the run');
    assert.deepEqual(await processesMatching(`restoreproof-${runId}`), [], 'no process of the run');
    return runId;
  }

  const run = (file: string, env: Record<string, string>, ...args: string[]) => runCli(['run', file, '--report-dir', join(work, 'reports'), ...args], { env: { ...fixtures, ...env } });

  it('a healthy drill: doctor exits 0 and lists each tool with its version, the artefacts and nothing missing', async () => {
    const result = await runCli(['doctor', fixtureDrill('shop.yaml'), '--runtime', 'local'], { env: fixtures });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    for (const tool of ['initdb', 'postgres', 'pg_restore', 'psql']) {
      assert.match(result.stdout, new RegExp(`^  ok +tool +${tool} \\(store app\\) +\\S+/${tool} \\(${tool === 'postgres' ? 'postgres' : tool} \\(PostgreSQL\\) \\d+`, 'm'));
    }
    assert.match(result.stdout, /^  ok +artefact +app: \S+\/shop\.dump +\S+shop\.dump \(\d+ bytes\)$/m);
    assert.match(result.stdout, /^READY: \d+ ok$/m);
    assert.doesNotMatch(result.stdout, /MISSING/);
  });

  it('without a drill, doctor checks the general environment: the installed tools, an absent engine is not a failure', async () => {
    const result = await runCli(['doctor', '--runtime', 'local'], { env: { RESTOREPROOF_MINIO: '/nonexistent/minio', PATH: dirname(process.execPath) } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^restoreproof doctor: general environment, runtime local$/m);
    assert.match(result.stdout, /^  ok +tool +pg_restore +\S+ \(pg_restore \(PostgreSQL\) \d+/m);
    assert.match(result.stdout, /^  -- +tool +minio +not installed; needed by drills with s3 stores on the local runtime$/m);
  });

  it('a missing tool (minio pointed at nothing, not on PATH): doctor and run exit 3 naming it and the fix', async () => {
    const mirror = join(work, 'mirror');
    await mkdir(join(mirror, 'docs'), { recursive: true });
    await writeFile(join(mirror, 'docs', 'a.txt'), 'a\n');
    const file = await drillFile('no-minio', ['  runtime: local', '  stores:', '    files:', '      engine: s3', `      restore: [ { bucket: media, artefact: ${mirror} } ]`,
      '  checks:', '    - { id: objects, type: objects, store: files, bucket: media, expect: { count: { equals: 1 } } }']);
    const env = { RESTOREPROOF_MINIO: join(work, 'no-such-dir', 'minio'), PATH: dirname(process.execPath) };
    const doctor = await runCli(['doctor', file], { env });
    assert.equal(doctor.code, 3, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, /^  MISSING tool +minio \(store files\) +cannot find `minio server` \(searched: \S+no-such-dir\/minio, minio on PATH\)$/m);
    assert.match(doctor.stdout, /^ +fix: install MinIO .*; or set RESTOREPROOF_MINIO$/m);
    assert.match(doctor.stdout, /^NOT READY: 1 missing: tool minio \(store files\) \(fix: install MinIO/m);
    await assertStoppedBeforeProvisioning(await run(file, env), /^error E_TOOL_NOT_FOUND: tool minio \(store files\): cannot find `minio server`/m, 'E_TOOL_NOT_FOUND');
  });

  it('an unset secret (a check\'s key) is noticed before any restore: doctor and run exit 3 naming the variable, never a value', async () => {
    const variable = `RESTOREPROOF_TEST_UNSET_${randomBytes(3).toString('hex').toUpperCase()}`;
    const file = await drillFile('unset-secret', ['  runtime: local', ...shopStore, '  checks:',
      `    - { id: card-numbers, type: decrypt, store: app, database: shop, table: customers, column: email, cipher: aes-256-gcm, key: { env: ${variable} }, sample: 1 }`]);
    const doctor = await runCli(['doctor', file], { env: fixtures });
    assert.equal(doctor.code, 3, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, new RegExp(`^  MISSING secret +spec\\.checks\\[0\\]\\.key +spec\\.checks\\[0\\]\\.key: environment variable ${variable} is not set$`, 'm'));
    assert.match(doctor.stdout, new RegExp(`fix: export ${variable}=\\.\\.\\. before running the drill`));
    assert.match(doctor.stdout, /^  ok +tool +pg_restore \(store app\)/m, 'what is there is listed too');
    await assertStoppedBeforeProvisioning(await run(file, {}), new RegExp(`^error E_SECRET: secret spec\\.checks\\[0\\]\\.key: .*environment variable ${variable} is not set`, 'm'), 'E_SECRET');
  });

  it('a secret that is set: doctor says so without printing its value', async () => {
    const value = `s3cret-${randomBytes(6).toString('hex')}`;
    const file = await drillFile('set-secret', ['  runtime: local', ...shopStore, '  checks:',
      '    - { id: card-numbers, type: decrypt, store: app, database: shop, table: customers, column: email, cipher: aes-256-gcm, key: { env: RESTOREPROOF_TEST_KEY }, sample: 1 }']);
    const doctor = await runCli(['doctor', file, '--json'], { env: { ...fixtures, RESTOREPROOF_TEST_KEY: value } });
    assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);
    const printed = JSON.parse(doctor.stdout) as { exitCode: number; items: { kind: string; name: string; status: string; detail: string }[] };
    assert.deepEqual(printed.items.find((i) => i.kind === 'secret'), { kind: 'secret', name: 'spec.checks[0].key', status: 'ok', detail: 'environment variable RESTOREPROOF_TEST_KEY is set' });
    assert.equal(doctor.stdout.includes(value) || doctor.stderr.includes(value), false);
  });

  it('sources: doctor selects the artefact as a run would (the newest dated folder), downloads nothing; an S3 endpoint that does not answer is exit 3', async () => {
    const nights = join(work, 'nights');
    for (const night of ['2026-03-01', '2026-03-02']) {
      await mkdir(join(nights, night), { recursive: true });
      await writeFile(join(nights, night, `shop_${night}.dump`), 'not read by doctor');
    }
    const dated = await drillFile('dated', ['  runtime: local', '  stores:', '    app:', '      engine: postgres', '      restore:',
      `        - { database: shop, artefact: { source: ${nights}, select: { latest: "{date:YYYY-MM-DD}/shop_{date}.dump" } } }`]);
    const ok = await runCli(['doctor', dated], { env: fixtures });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, new RegExp(`^  ok +source +app: ${literal(nights)} +reachable; file 2026-03-02/shop_2026-03-02\\.dump \\(newest of 2 dated folder\\(s\\) matching \\{date:YYYY-MM-DD\\}/`, 'm'));

    const port = await freePort();
    const s3 = await drillFile('s3-down', ['  runtime: local', '  stores:', '    app:', '      engine: postgres', '      restore:',
      `        - { database: shop, artefact: { source: "s3://backups/nightly/", select: { latest: "{date:YYYY-MM-DD}/shop.dump" }, s3: { endpoint: "http://127.0.0.1:${port}", accessKey: { env: RP_TEST_S3_KEY }, secretKey: { env: RP_TEST_S3_SECRET } } } }`]);
    const s3env = { RP_TEST_S3_KEY: 'reader', RP_TEST_S3_SECRET: `secret-${randomBytes(4).toString('hex')}` };
    const down = await runCli(['doctor', s3], { env: { ...fixtures, ...s3env } });
    assert.equal(down.code, 3, down.stdout + down.stderr);
    assert.match(down.stdout, new RegExp(`^  MISSING source +app: s3://backups/nightly/ +s3://backups/nightly/ at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`, 'm'));
    assert.match(down.stdout, /^  ok +secret +spec\.stores\.app\.restore\[0\]\.artefact\.s3\.secretKey +environment variable RP_TEST_S3_SECRET is set$/m);
    assert.equal(down.stdout.includes(s3env.RP_TEST_S3_SECRET), false);
    await assertStoppedBeforeProvisioning(await run(s3, s3env), /^error E_SOURCE_UNREACHABLE: source app: s3:\/\/backups\/nightly\/: /m, 'E_SOURCE_UNREACHABLE');
  });

  it('an unreachable Docker engine (DOCKER_HOST at a dead socket): doctor and run exit 3 naming the engine', async () => {
    const dead = `unix://${join(work, 'dead.sock')}`;
    const file = await drillFile('dead-docker', ['  runtime: containers', ...shopStore]);
    const doctor = await runCli(['doctor', file], { env: { ...fixtures, DOCKER_HOST: dead } });
    assert.equal(doctor.code, 3, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, new RegExp(`^  MISSING runtime +containers +no Docker engine answers at DOCKER_HOST=${literal(dead)}: `, 'm'));
    assert.match(doctor.stdout, /fix: start Docker or set DOCKER_HOST to a running engine, or use --runtime local/);
    const result = await run(file, { DOCKER_HOST: dead });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /^error E_NO_DOCKER: runtime containers needs a Docker engine, and none answers at DOCKER_HOST=unix:\/\/\S+dead\.sock/m);
    const runId = runIdOf(result);
    const report = await readReport(join(work, 'reports'), runId);
    assert.deepEqual([report.status, report.exitCode], ['could-not-run', 3]);
    assert.equal(report.phases.find((p) => p.name === 'provision')!.status, 'skipped');
    assert.deepEqual(report.teardown.resources, []);
    assert.deepEqual(await runDirsNamed(`restoreproof-${runId}`), []);
  });

  it('a cluster whose API does not answer: doctor and run (kubernetes runtime) exit 3 naming the API server', async () => {
    const port = await freePort();
    const kubeconfig = join(work, 'dead.kubeconfig');
    await writeFile(kubeconfig, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'dead',
      clusters: [{ name: 'dead', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: `t-${randomBytes(6).toString('hex')}` } }],
      contexts: [{ name: 'dead', context: { cluster: 'dead', user: 'u' } }],
    }), { mode: 0o600 });
    const file = await drillFile('dead-cluster', ['  runtime: kubernetes', ...shopStore]);
    const doctor = await runCli(['doctor', file], { env: { ...fixtures, KUBECONFIG: kubeconfig } });
    assert.equal(doctor.code, 3, doctor.stdout + doctor.stderr);
    assert.match(doctor.stdout, new RegExp(`^  MISSING runtime +kubernetes +the Kubernetes API https://127\\.0\\.0\\.1:${port} does not answer \\(context dead\\): .*ECONNREFUSED`, 'm'));
    await assertStoppedBeforeProvisioning(await run(file, { KUBECONFIG: kubeconfig }), new RegExp(`^error E_KUBE_UNREACHABLE: runtime kubernetes: the Kubernetes API https://127\\.0\\.0\\.1:${port} does not answer`, 'm'), 'E_KUBE_UNREACHABLE');
  });

  describe('on the test bed Docker engine', function () {
    let env: Record<string, string>;
    const docker = (args: string[]) => execFileSync('docker', ['-H', env.DOCKER_HOST!, ...args], { encoding: 'utf8' }).trim();

    before(function () {
      requireBackends(this, 'docker');
      env = { ...fixtures, ...testbedImageEnv() };
    });

    it('a healthy containers drill: doctor exits 0 with the engine\'s version and the image present', async () => {
      const file = await drillFile('healthy-containers', ['  runtime: containers', ...shopStore]);
      const result = await runCli(['doctor', file], { env });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^  ok +runtime +containers +Docker \d+\.\d+\S* answers at unix:\/\//m);
      const image = (testbed().backends.docker!.images as Record<string, string>).postgres!;
      assert.match(result.stdout, new RegExp(`^  ok +image +${literal(image)} +postgres image from RESTOREPROOF_IMAGE_POSTGRES: present \\([0-9a-f]{12}\\)$`, 'm'));
    });

    it('an image that is not there and cannot be pulled: doctor and run exit 3 naming it; no container or network of the run', async () => {
      const image = `restoreproof-test/no-such-image-${randomBytes(3).toString('hex')}:1`;
      const file = await drillFile('no-image', ['  runtime: containers', '  stores:', '    app:', '      engine: postgres', `      image: ${image}`, '      restore:', '        - { artefact: "${RESTOREPROOF_FIXTURES}/shop.dump", database: shop }']);
      const doctor = await runCli(['doctor', file], { env });
      assert.equal(doctor.code, 3, doctor.stdout + doctor.stderr);
      assert.match(doctor.stdout, new RegExp(`^  MISSING image +${literal(image)} +postgres image from the drill \\(image\\): not present at unix://\\S+, and it cannot be pulled: `, 'm'));
      assert.match(doctor.stdout, new RegExp(`fix: pull or load it \\(docker pull ${literal(image)}\\)`));
      const result = await run(file, env);
      const runId = await assertStoppedBeforeProvisioning(result, new RegExp(`^error E_IMAGE: image ${literal(image)}: `, 'm'), 'E_IMAGE');
      assert.equal(docker(['ps', '-a', '-q', '--filter', `label=restoreproof.run=${runId}`]), '');
      assert.equal(docker(['network', 'ls', '-q', '--filter', `label=restoreproof.run=${runId}`]), '');
    });
  });
});
