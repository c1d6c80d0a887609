import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../../src/run/run.ts';
import type { RunReport } from '../../src/report/types.ts';
import { repoRoot, requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { makeAppFixture, type AppFixture } from '../support/audit-chain.ts';
import { assertValidReport, processesMatching, readReport, runCli } from '../support/fixtures.ts';
import { forEachRuntime, type TestRuntime } from '../support/runtimes.ts';
import { docker } from '../../src/runtimes/containers/docker.ts';
import { LABEL_RUN } from '../../src/runtimes/shared/labels.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const appScript = join(repoRoot, 'test/fixtures/app/server.ts');

function drillYaml(name: string, fixture: AppFixture, body: string[], runtime: TestRuntime = 'local'): string {
  return [
    'apiVersion: restoreproof/v1',
    'kind: RestoreDrill',
    `metadata: { name: ${name} }`,
    'spec:',
    `  runtime: ${runtime}`,
    '  stores:',
    '    db:',
    '      engine: postgres',
    `      restore: [ { artefact: ${fixture.dump}, database: app } ]`,
    ...body,
  ].join('\n');
}

const chainCheck = (id: string, table: string, extra = '') =>
  `    - { id: ${id}, type: auditChain, store: db, table: ${table}, orderBy: seq, macColumn: mac, linkColumn: prev_mac, algorithm: HMAC-SHA256, key: { env: TEST_AUDIT_KEY }, input: { template: "{prev}|{id}|{actor}|{action}|{created_at}" }${extra} }`;

describe('app, http, auditChain, decrypt and freshness (real PostgreSQL)', function () {
  let dir: string;
  let reportDir: string;
  let fixture: AppFixture;

  before(async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-app-'));
    fixture = await makeAppFixture(dir);
    process.env.TEST_AUDIT_KEY = fixture.auditKey;
    process.env.TEST_AUDIT_KEY_WRONG = `${fixture.auditKey}x`;
    process.env.TEST_JSON_KEY = fixture.jsonKey;
    process.env.TEST_GCM_KEY = fixture.gcmKey.toString('base64');
    process.env.TEST_GCM_KEY_WRONG = Buffer.alloc(32, 7).toString('base64');
    process.env.TEST_CBC_KEY = fixture.cbcKey.toString('hex');
    process.env.TEST_APP_TOKEN = 'tok-4f1b9c2e7d';
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    reportDir = await mkdtemp(join(tmpdir(), 'restoreproof-test-reports-'));
  });
  afterEach(async () => {
    await rm(reportDir, { recursive: true, force: true });
  });

  async function run(name: string, body: string[]): Promise<RunReport> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, drillYaml(name, fixture, body));
    const report = await runDrill(file, { reportDir, runtime: 'local' });
    assertValidReport(report);
    await readReport(reportDir, report.runId);
    assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), [], 'temp dirs left behind');
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), [], 'processes left behind');
    return report;
  }
  const check = (report: RunReport, id: string) => report.checks.find((c) => c.id === id) ?? assert.fail(`no check ${id}`);

  it('auditChain: a valid chain verifies; a changed, a deleted and a swapped row are each found with the right key; a wrong key fails on the first row', async () => {
    const report = await run('chains', [
      '  checks:',
      chainCheck('ok', 'audit_ok'),
      chainCheck('changed', 'audit_changed'),
      chainCheck('deleted', 'audit_deleted'),
      chainCheck('swapped', 'audit_swapped'),
      chainCheck('wrong-key', 'audit_ok').replace('TEST_AUDIT_KEY', 'TEST_AUDIT_KEY_WRONG'),
      chainCheck('no-link', 'audit_changed').replace('linkColumn: prev_mac, ', ''),
      chainCheck('missing-column', 'audit_ok').replace('{created_at}', '{colour}'),
      '    - { id: json, type: auditChain, store: db, table: audit_json, orderBy: seq, macColumn: mac, algorithm: HMAC-SHA512, encoding: base64, genesis: GENESIS,',
      '        key: { env: TEST_JSON_KEY }, input: { canonicalJson: [seq, actor, action, at] }, format: { timestamp: epochMillis }, exclude: { column: retired, equals: true } }',
    ]);
    assert.equal(report.status, 'failed');
    const secrets = [fixture.auditKey, fixture.jsonKey];
    for (const s of secrets) assert.ok(!JSON.stringify(report).includes(s), 'a key is echoed in the report');

    const ok = check(report, 'ok');
    assert.equal(ok.status, 'passed', ok.message);
    assert.equal((ok.actual as { rowsVerified: number }).rowsVerified, fixture.rows);
    assert.ok((ok.actual as { rowsPerSecond: number }).rowsPerSecond > 0);

    const breakOf = (id: string) => (check(report, id).actual as { firstBreak: { key: string; kind: string } }).firstBreak;
    assert.equal(check(report, 'changed').status, 'failed');
    assert.deepEqual([breakOf('changed').key, breakOf('changed').kind], ['17', 'changed']);
    assert.match(check(report, 'changed').message, /seq = 17: changed row/);
    assert.deepEqual([breakOf('deleted').key, breakOf('deleted').kind], ['24', 'deleted']);
    assert.match(check(report, 'deleted').message, /seq = 24: deleted row/);
    assert.deepEqual([breakOf('swapped').key, breakOf('swapped').kind], ['30', 'reordered']);
    assert.equal((check(report, 'changed').actual as { breaks: number }).breaks, 1);

    const wrong = check(report, 'wrong-key');
    assert.equal(wrong.status, 'failed');
    assert.match(wrong.message, /first row does not verify/);
    assert.equal(breakOf('wrong-key').key, '1');

    assert.equal(breakOf('no-link').key, '17');
    const missing = check(report, 'missing-column');
    assert.equal(missing.status, 'failed');
    assert.match(missing.message, /table audit_ok has no column "colour"/);

    const json = check(report, 'json');
    assert.equal(json.status, 'passed', json.message);
    assert.deepEqual([(json.actual as { rowsVerified: number }).rowsVerified, (json.actual as { rowsExcluded: number }).rowsExcluded], [25, 2]);
  });

  it('decrypt passes with the right key, fails with a wrong key or a tampered ciphertext; freshness passes and fails', async () => {
    const report = await run('secrets', [
      '  objectives: { rpo: 1h }',
      '  checks:',
      '    - { id: gcm, type: decrypt, store: db, table: secrets, column: value, cipher: aes-256-gcm, key: { env: TEST_GCM_KEY }, sample: 10 }',
      '    - { id: gcm-wrong-key, type: decrypt, store: db, table: secrets, column: value, cipher: aes-256-gcm, key: { env: TEST_GCM_KEY_WRONG }, sample: 10 }',
      '    - { id: gcm-tampered, type: decrypt, store: db, table: secrets_tampered, column: value, cipher: aes-256-gcm, key: { env: TEST_GCM_KEY }, sample: 30 }',
      '    - { id: cbc, type: decrypt, store: db, table: secrets_cbc, column: value, cipher: aes-256-cbc-hmac-sha256, key: { env: TEST_CBC_KEY }, keyEncoding: hex }',
      '    - { id: fresh, type: freshness, store: db, table: events, column: created_at }',
      '    - { id: stale, type: freshness, store: db, table: events, column: created_at, maxAge: 1m }',
    ]);
    for (const s of [process.env.TEST_GCM_KEY!, process.env.TEST_CBC_KEY!]) assert.ok(!JSON.stringify(report).includes(s), 'a key is echoed in the report');
    assert.equal(check(report, 'gcm').status, 'passed', check(report, 'gcm').message);
    assert.deepEqual(check(report, 'gcm').actual, { sampled: 10, decrypted: 10, failed: 0 });
    assert.equal(check(report, 'gcm-wrong-key').status, 'failed');
    assert.match(check(report, 'gcm-wrong-key').message, /10 of 10 sampled values do not open: .*authentication failed/);
    const tampered = check(report, 'gcm-tampered');
    assert.equal(tampered.status, 'failed');
    assert.equal((tampered.actual as { failed: number }).failed, 1);
    assert.equal(check(report, 'cbc').status, 'passed', check(report, 'cbc').message);
    const fresh = check(report, 'fresh');
    assert.equal(fresh.status, 'passed', fresh.message);
    const age = (fresh.actual as { dataAgeMs: number }).dataAgeMs;
    assert.ok(age >= 9 * 60_000 && age < 60 * 60_000, `data age ${age}`);
    assert.equal((fresh.actual as { rpo: { target: string } }).rpo.target, '1h');
    assert.equal(check(report, 'stale').status, 'failed');
  });

  it('an app that exits at start fails the drill with its last log lines; http checks are skipped', async () => {
    const report = await run('app-crash', [
      '  app:',
      `    command: [${process.execPath}, -e, "console.error('boom: cannot load config'); process.exit(3)"]`,
      '  checks:',
      '    - { id: ready, type: http, path: /ready, retry: { until: 2s } }',
      '    - { id: rows, type: count, store: db, table: license, expect: { equals: 1 } }',
    ]);
    assert.equal(report.status, 'failed');
    assert.equal(report.phases.find((p) => p.name === 'app')!.status, 'failed');
    const error = report.errors.find((e) => e.code === 'E_APP_START') ?? assert.fail(JSON.stringify(report.errors));
    assert.match(error.message, /exited during start-up; last log lines:\nboom: cannot load config/);
    assert.equal(check(report, 'ready').status, 'skipped');
    assert.equal(check(report, 'rows').status, 'passed');
  });

  it('bad input is a config error (exit 2) before any restore', async () => {
    const cases: [string, string[], RegExp][] = [
      ['template-syntax', ['  checks:', chainCheck('c', 'audit_ok').replace('{prev}|', '{prev|')], /template syntax error: "\{" inside a placeholder/],
      ['unknown-placeholder', ['  checks:', chainCheck('c', 'audit_ok').replace('" }', '", fields: [id, actor, action] }')], /placeholder \{created_at\} is not defined/],
      ['unknown-store-url', ['  app:', `    command: [${process.execPath}, ${appScript}]`, '    env: { DATABASE_URL: "${stores.nope.url}" }'], /names unknown store "nope"/],
      ['unknown-field', ['  app:', `    command: [${process.execPath}, ${appScript}]`, '    env: { DATABASE_URL: "${stores.db.uri}" }'], /unknown field "uri"/],
      ['path-without-app', ['  checks:', '    - { type: http, path: /ready }'], /spec\.app is not set/],
    ];
    for (const [name, body, message] of cases) {
      const file = join(dir, `${name}.yaml`);
      // A missing artefact: exit 2 (not 1) proves nothing got as far as verify or restore.
      await writeFile(file, drillYaml(name, { ...fixture, dump: join(dir, 'no-such.dump') }, body));
      const result = await runCli(['run', file, '--report-dir', reportDir]);
      assert.equal(result.code, 2, `${name}: ${result.stderr}`);
      assert.match(result.stderr, message, name);
      const runId = /restoreproof run (\S+):/.exec(result.stderr)?.[1] ?? assert.fail(result.stderr);
      const report = await readReport(reportDir, runId);
      assert.deepEqual(report.phases.map((p) => p.name), ['load', 'teardown'], name);
      assert.deepEqual([report.stores, report.artefacts, report.teardown.resources], [[], [], []]);
    }
  });
});

/** The sample app's fixture, made once for every runtime's suite. */
let sharedFixture: Promise<{ dir: string; fixture: AppFixture }> | undefined;
after(async () => {
  const made = await sharedFixture?.catch(() => undefined);
  if (made) await rm(made.dir, { recursive: true, force: true });
});

forEachRuntime('the sample app on restored data', { backends: ['postgres'] }, (runtime) => {
  let dir: string;
  let fixture: AppFixture;
  let reportDir: string;
  before(async () => {
    sharedFixture ??= (async () => {
      const made = await mkdtemp(join(tmpdir(), 'restoreproof-test-app-'));
      return { dir: made, fixture: await makeAppFixture(made) };
    })();
    ({ dir, fixture } = await sharedFixture);
    process.env.TEST_APP_TOKEN = 'tok-4f1b9c2e7d';
    process.env.TEST_APP_TOKEN_HEADER = `Bearer ${process.env.TEST_APP_TOKEN}`;
  });
  beforeEach(async () => {
    reportDir = await mkdtemp(join(tmpdir(), 'restoreproof-test-reports-'));
  });
  afterEach(async () => {
    await rm(reportDir, { recursive: true, force: true });
  });

  async function run(name: string, body: string[]): Promise<RunReport> {
    const file = join(dir, `${name}-${runtime}.yaml`);
    await writeFile(file, drillYaml(name, fixture, body, runtime));
    const report = await runDrill(file, { reportDir, runtime });
    assertValidReport(report);
    await readReport(reportDir, report.runId);
    assert.equal(report.runtime, runtime);
    assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), [], 'temp dirs left behind');
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), [], 'processes left behind');
    if (runtime === 'containers') {
      const left = await docker().listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${report.runId}`] } });
      assert.deepEqual(left.map((c) => c.Names), [], 'containers left behind');
    }
    return report;
  }
  const check = (report: RunReport, id: string) => report.checks.find((c) => c.id === id) ?? assert.fail(`no check ${id}`);

  // local: the project's Node runs the sample app from the repository. containers: no image is
  // named, so the command runs in the default app image (the test bed's restoreproof-testbed/node-app,
  // through RESTOREPROOF_IMAGE_APP), with the app's directory copied in as its working directory.
  const command = runtime === 'local' ? [`    command: [${process.execPath}, ${appScript}]`] : ['    command: [node, server.ts]', `    cwd: ${join(repoRoot, 'test/fixtures/app')}`];
  const node = runtime === 'local' ? process.execPath : 'node';

  const appSpec = (database: string) => [
    '  app:',
    ...command,
    '    startTimeout: 30s',
    `    env: { DATABASE_URL: "\${stores.db.url:${database}}", APP_TOKEN: { env: TEST_APP_TOKEN }, APP_SLOW_MS: "400" }`,
    `    migrate: { command: [${node}, -e, "if (!process.env.DATABASE_URL.startsWith('postgres://')) process.exit(4)"], env: { DATABASE_URL: "\${stores.db.url:${database}}" } }`,
    '  checks:',
    '    - { id: ready, type: http, path: /ready, expect: { status: 200, json: { ready: { equals: true } } }, retry: { until: 4s, interval: 200ms } }',
    '    - { id: license, type: http, path: /license, headers: { Authorization: { env: TEST_APP_TOKEN_HEADER } }, expect: { json: { license.edition: { equals: enterprise }, "license.seats": { exists: true }, license.customer: { matches: "^ACME" } }, latency: 30s } }',
    '    - { id: unauthorised, type: http, path: /license, expect: { status: 401 } }',
    '    - { id: slow, type: http, path: /slow, expect: { latency: 50ms } }',
  ];

  it('starts the sample app on the restored database: migration, readiness and spot checks pass; the app is stopped at teardown', async () => {
    process.env.TEST_APP_TOKEN_HEADER = `Bearer ${process.env.TEST_APP_TOKEN}`;
    const report = await run('app', appSpec('app'));
    assert.deepEqual(report.phases.map((p) => p.name), ['load', 'preflight', ...report.phases.map((p) => p.name).filter((n) => n === 'fetch'), 'verify', 'provision', 'restore', 'app', 'checks', 'teardown']);
    assert.equal(check(report, 'app-migrate').status, 'passed', check(report, 'app-migrate').message);
    assert.equal(check(report, 'ready').status, 'passed', check(report, 'ready').message);
    const license = check(report, 'license');
    assert.equal(license.status, 'passed', license.message);
    assert.deepEqual((license.actual as { json: unknown }).json, { 'license.edition': 'enterprise', 'license.seats': 250, 'license.customer': 'ACME Corp' });
    assert.equal(check(report, 'unauthorised').status, 'passed');
    // A deliberately slow endpoint against a tiny bound: the latency expectation is what fails.
    assert.equal(check(report, 'slow').status, 'failed');
    assert.match(check(report, 'slow').message, /latency \d+ms > 50ms/);
    const appResources = report.teardown.resources.filter((r) => r.store === 'app');
    assert.deepEqual(appResources.map((r) => [r.kind, r.removed]), runtime === 'local' ? [['directory', true], ['process', true]] : [['container', true]]);
    assert.ok(!JSON.stringify(report).includes(process.env.TEST_APP_TOKEN!), 'the token is echoed in the report');
  });

  it('pointed at an empty database, readiness fails at its deadline with the app log and the spot check fails', async () => {
    const report = await run('app-empty', appSpec('postgres'));
    assert.equal(report.status, 'failed');
    const ready = check(report, 'ready');
    assert.equal(ready.status, 'failed');
    assert.match(ready.message, /status 503/);
    assert.match(ready.message, /deadline 4s/);
    assert.match(ready.message, /app log \(last lines\):\n.*relation "license" does not exist/s);
    assert.equal(check(report, 'license').status, 'failed');
  });

  if (runtime === 'containers') {
    it('an app image without a command runs its own command; stores are reached by name on the run network', async () => {
      const image = process.env.RESTOREPROOF_IMAGE_APP ?? assert.fail('the test bed names no app image');
      const report = await run('app-image', [
        '  app:',
        `    image: ${image}`,
        '    startTimeout: 60s',
        '    env: { DATABASE_URL: "${stores.db.url:app}", DB_HOST: "${stores.db.host}", DB_PORT: "${stores.db.port}" }',
        `    migrate: { command: [node, -e, "if (process.env.DB_HOST !== 'db' || process.env.DB_PORT !== '5432') { console.error('store at ' + process.env.DB_HOST + ':' + process.env.DB_PORT); process.exit(4) }"], env: { DB_HOST: "\${stores.db.host}", DB_PORT: "\${stores.db.port}" } }`,
        '  checks:',
        '    - { id: ready, type: http, path: /ready, expect: { status: 200 }, retry: { until: 30s, interval: 200ms } }',
        '    - { id: license, type: http, path: /license, expect: { json: { license.edition: { equals: enterprise } } } }',
      ]);
      assert.equal(report.status, 'passed', JSON.stringify([report.errors, report.checks.filter((c) => c.status !== 'passed')], null, 2));
      const app = report.teardown.resources.filter((r) => r.store === 'app');
      assert.deepEqual(app.map((r) => [r.kind, r.image, r.removed]), [['container', image, true]]);
      // No egress asked for: the harness reaches the app at its address on the internal run network.
      assert.match(Object.values(app[0]!.ports ?? {})[0] ?? '', /^\d+\.\d+\.\d+\.\d+:8080 \(internal run network\)$/);
    });

    it('an app that exits in its container fails the drill with its last log lines', async () => {
      const report = await run('app-crash', [
        '  app:',
        `    command: [node, -e, "console.error('boom: cannot load config'); process.exit(3)"]`,
        '  checks:',
        '    - { id: ready, type: http, path: /ready, retry: { until: 2s } }',
      ]);
      assert.equal(report.status, 'failed');
      const error = report.errors.find((e) => e.code === 'E_APP_START') ?? assert.fail(JSON.stringify(report.errors));
      assert.match(error.message, /exited during start-up \(exit code 3\); last log lines:\nboom: cannot load config/);
      assert.equal(check(report, 'ready').status, 'skipped');
    });
  }

  it('what the runtime cannot run is a config error (exit 2) before any restore', async () => {
    const body = runtime === 'local' ? ['  app:', '    image: example/app:1'] : ['  app:', '    command: [./bin/app, --serve]'];
    const message = runtime === 'local' ? /spec\.app.*needs command \(image example\/app:1 is for --runtime containers\)/s : /spec\.app\.command\[0\].*\.\/bin\/app \(a path relative to the drill on this machine\) does not exist; give spec\.app\.image/s;
    const file = join(dir, `bad-app-${runtime}.yaml`);
    await writeFile(file, drillYaml('bad-app', fixture, body, runtime));
    const result = await runCli(['run', file, '--report-dir', reportDir]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, message);
    // The same drill without spec.runtime, run with --runtime: found once the runtime is chosen.
    await writeFile(file, drillYaml('bad-app', fixture, body, runtime).replace(`  runtime: ${runtime}\n`, ''));
    const chosen = await runCli(['run', file, '--runtime', runtime, '--report-dir', reportDir]);
    assert.equal(chosen.code, 2, chosen.stderr);
    assert.match(chosen.stderr, message);
  });
});

describe('auditChain over a Mongo collection (real MongoDB-wire server)', function () {
  let dir: string;
  before(async function () {
    requireBackends(this, 'mongo');
    useTestbedBinaries();
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-mongo-chain-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('verifies a chain of documents and finds a changed one by its ordering key', async () => {
    const { startLocalMongo } = await import('../../src/engines/mongodb/local.ts');
    const { MongoClient } = await import('mongodb');
    const { buildChain } = await import('../support/audit-chain.ts');
    const key = 'mongo-chain-key-0123';
    const archive = join(dir, 'audit.archive');
    const source = await startLocalMongo({ runId: 'mongochain-src', drillName: 't', storeName: 'src', spec: { engine: 'mongodb', restore: [] }, drillDir: dir, signal: new AbortController().signal });
    try {
      const client = new MongoClient(source.url(), { directConnection: true });
      await client.connect();
      const docs = buildChain(40, key).map((r) => ({ seq: r.seq, id: r.id, actor: r.actor, action: r.action, created_at: r.createdAt, prev_mac: r.prevMac, mac: r.mac }));
      await client.db('audit').collection('log').insertMany(docs.map((d) => ({ ...d })));
      await client.db('audit').collection('log_changed').insertMany(docs.map((d) => ({ ...d })));
      await client.db('audit').collection('log_changed').updateOne({ seq: 9 }, { $set: { actor: 'mallory' } });
      await client.close();
      const dump = await source.exec('mongodump', [`--uri=${source.url()}`, '--db=audit', `--archive=${archive}`]);
      assert.equal(dump.exitCode, 0, dump.stderr);
    } finally {
      await source.stop();
    }
    process.env.TEST_MONGO_AUDIT_KEY = key;
    const check = (id: string, collection: string) =>
      `    - { id: ${id}, type: auditChain, store: mongo, database: audit, collection: ${collection}, orderBy: seq, macColumn: mac, linkColumn: prev_mac, algorithm: HMAC-SHA256, key: { env: TEST_MONGO_AUDIT_KEY }, input: { template: "{prev}|{id}|{actor}|{action}|{created_at}" } }`;
    const file = join(dir, 'mongo-chain.yaml');
    await writeFile(file, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: mongo-chain }', 'spec:', '  runtime: local', '  stores:', '    mongo:', '      engine: mongodb', `      restore: [ { artefact: ${archive} } ]`, '  checks:', check('ok', 'log'), check('changed', 'log_changed')].join('\n'));
    const reportDir = await mkdtemp(join(tmpdir(), 'restoreproof-test-reports-'));
    try {
      const report = await runDrill(file, { reportDir, runtime: 'local' });
      assertValidReport(report);
      const ok = report.checks.find((c) => c.id === 'ok')!;
      assert.equal(ok.status, 'passed', ok.message);
      assert.equal((ok.actual as { rowsVerified: number }).rowsVerified, 40);
      const changed = report.checks.find((c) => c.id === 'changed')!;
      assert.equal(changed.status, 'failed');
      assert.deepEqual((changed.actual as { firstBreak: { key: string; kind: string } }).firstBreak.key, '9');
      assert.ok(!JSON.stringify(report).includes(key));
    } finally {
      await rm(reportDir, { recursive: true, force: true });
    }
  });
});
