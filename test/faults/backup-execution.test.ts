// Issue 14, deliverables 2 and 3: a backup is a script psql runs and a server executes. These
// replay the attacks of the issue against real servers: psql meta-commands in a plain SQL backup
// (refused, naming the line, nothing written outside the run), `COPY … FROM PROGRAM` (runs as an
// unprivileged account and sees none of the harness's secrets), and the environment of every local
// server and of the local app (/proc/<pid>/environ holds no drill secret).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePlatformBackups } from '../../scripts/lib/platform-backups.ts';
import type { Reporter } from '../../src/report/types.ts';
import { runDrill } from '../../src/run/run.ts';
import { requireBackends, useTestbedBinaries, useTestbedImages } from '../support/backends.ts';
import { clearErrorProblems, recordFault } from '../support/faults.ts';
import { assertValidReport, fixtureDrill, processesMatching, runCli } from '../support/fixtures.ts';
import { forEachRuntime } from '../support/runtimes.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const header = (name: string) => ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:'];

/** What a run left in the temp dir and the process list. */
async function leftovers(runId: string): Promise<number> {
  const dirs = await runDirsNamed(`restoreproof-${runId}`);
  return dirs.length + (await processesMatching(`restoreproof-${runId}`)).length;
}

/**
 * Processes of this run: servers work in their run dir (redis retitles itself, over its argv and
 * environ), the app has RESTOREPROOF_RUN_ID. Synchronous: it sees them all at one instant of the run.
 */
function runProcesses(runId: string): { pid: number; cmd: string; environ: string; uid: number }[] {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').replace(/\0/g, '\n');
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (!cmd.includes(`restoreproof-${runId}`) && !cwd.includes(`restoreproof-${runId}`) && !environ.includes(`RESTOREPROOF_RUN_ID=${runId}`)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      found.push({ pid: Number(entry), cmd, environ, uid });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

describe('faults: psql meta-commands in a plain SQL backup [local]', function () {
  let work: string;
  before(async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-exec-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("the issue's \\! backup fails the restore naming the line, through the CLI; nothing is written outside the run", async () => {
    const pwned = join(tmpdir(), `pwned-by-backup-${randomBytes(4).toString('hex')}`);
    await writeFile(join(work, 'pwn.sql'), `create table t(id int);\ninsert into t values (1);\n\\! id > ${pwned}\n`);
    const drill = join(work, 'pwn.yaml');
    await writeFile(drill, [...header('pwn'), '  runtime: local', '  stores:', '    db:', '      engine: postgres', '      restore:', '        - { artefact: pwn.sql, database: app }',
      '  checks:', '    - { id: t, type: count, store: db, database: app, table: t, expect: { equals: 1 } }'].join('\n'));
    const result = await runCli(['run', drill, '--report-dir', join(work, 'reports'), '--json'], { killAfterMs: 120_000 });
    const report = JSON.parse(result.stdout) as { runId: string; errors: { code: string; message: string }[]; stores: { steps: { errorCode?: string; status: string }[] }[] };
    const left = await leftovers(report.runId);
    const problems = clearErrorProblems(result, { exitCodes: [1], located: /pwn\.sql: line 3: psql meta-command \\! is not allowed/ });
    recordFault('backup: psql meta-command', { clearError: problems.length === 0 && !existsSync(pwned), leftovers: left });
    assert.deepEqual(problems, []);
    assert.equal(existsSync(pwned), false, `${pwned} was written: the backup ran a shell command`);
    assert.equal(report.stores[0]!.steps[0]!.errorCode, 'E_ARTEFACT');
    assert.ok(report.errors.some((e) => e.code === 'E_ARTEFACT' && e.message.includes('line 3')), JSON.stringify(report.errors));
    assert.equal(left, 0);
  });

  const hostile: [string, string, RegExp][] = [
    ['\\o writes a file', 'select 1;\n\\o {out}\nselect 2;\n', /line 2: psql meta-command \\o is not allowed/],
    ['\\copy reads a file of the harness', 'create table s(l text);\n\\copy s from /etc/hostname\n', /line 2: psql meta-command \\copy is not allowed/],
    ['\\set and \\gexec', '\\set x 1\n', /line 1: psql meta-command \\set is not allowed/],
    ['\\! after SQL on the same line', 'select 1; \\! touch {out}\n', /line 1: a psql meta-command \(\\!…\) after SQL text/],
    ['\\connect to another host', '\\connect "host=127.0.0.2 dbname=postgres"\n', /line 1: \\connect names more than a database \(a host, port, user or connection string\)/],
    ['a variable that would make a statement COPY … FROM stdin', '\\connect stdin\nCOPY t FROM :DBNAME;\n\\! touch {out}\n', /line 2: a psql variable in a COPY statement/],
    ['a backslash before a quote (standard_conforming_strings off)', "select set_config('standard_conforming_strings', 'off', false);\nselect '\\'; \\! touch {out}; '\n", /line 2: a backslash before a quote/],
  ];
  for (const [name, sql, message] of hostile) {
    it(`refused: ${name}; nothing runs outside the store`, async () => {
      const out = join(tmpdir(), `pwned-by-backup-${randomBytes(4).toString('hex')}`);
      const file = join(work, `${randomBytes(3).toString('hex')}.sql`);
      await writeFile(file, sql.replaceAll('{out}', out));
      const drill = join(work, `${randomBytes(3).toString('hex')}.yaml`);
      await writeFile(drill, [...header('hostile-sql'), '  runtime: local', '  stores:', '    db:', '      engine: postgres', '      restore:', `        - { artefact: ${file}, database: app }`].join('\n'));
      const report = await runDrill(drill, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
      assertValidReport(report);
      const left = await leftovers(report.runId);
      const step = report.stores[0]!.steps[0]!;
      const clear = report.exitCode === 1 && step.status === 'failed' && message.test(step.error ?? '') && !existsSync(out);
      recordFault('backup: psql meta-command', { clearError: clear, leftovers: left });
      assert.equal(report.exitCode, 1);
      assert.equal(step.status, 'failed');
      assert.match(step.error ?? '', message);
      assert.equal(existsSync(out), false, `${out} was written`);
      assert.equal(left, 0);
    });
  }

  it('exitOnError: false: a COPY that fails does not let its data lines run (psql is restricted by a key the backup cannot know)', async () => {
    const out = join(tmpdir(), `pwned-by-backup-${randomBytes(4).toString('hex')}`);
    await writeFile(join(work, 'failed-copy.sql'), `COPY nope FROM stdin;\n\\! touch ${out}\n\\.\ncreate table after_copy(id int);\n`);
    const drill = join(work, 'failed-copy.yaml');
    await writeFile(drill, [...header('failed-copy'), '  runtime: local', '  stores:', '    db:', '      engine: postgres', '      restore:', '        - { artefact: failed-copy.sql, database: app, exitOnError: false }',
      '  checks:', '    - { id: went-on, type: count, store: db, database: app, table: after_copy, expect: { equals: 0 } }'].join('\n'));
    const report = await runDrill(drill, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
    assertValidReport(report);
    const step = report.stores[0]!.steps[0]!;
    const left = await leftovers(report.runId);
    recordFault('backup: psql meta-command', { clearError: !existsSync(out) && /restricted/.test(step.stderr), leftovers: left });
    assert.equal(existsSync(out), false, `${out} was written`);
    assert.match(step.stderr, /relation "…" does not exist/);
    assert.match(step.stderr, /backslash commands are restricted/);
    assert.equal(report.status, 'passed', 'exitOnError: false goes on after the errors, as asked');
    assert.equal(left, 0);
  });

  it("psql's error names the artefact's line, though the guard adds \\restrict lines around each \\connect", async () => {
    await writeFile(join(work, 'lines.sql'), 'create table a(id int);\n\\connect app\n\\connect app\nselect nope;\n');
    const drill = join(work, 'lines.yaml');
    await writeFile(drill, [...header('lines'), '  runtime: local', '  stores:', '    db:', '      engine: postgres', '      restore:', '        - { artefact: lines.sql, database: app }'].join('\n'));
    const report = await runDrill(drill, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
    assertValidReport(report);
    assert.match(report.stores[0]!.steps[0]!.stderr, /psql:lines\.sql:4: ERROR: {2}column "…" does not exist/);
  });

  it('real pg_dumpall output (\\connect with odd names, \\restrict, COPY data with backslashes) still restores', async () => {
    const fixture = await makeDumpall(work);
    const drill = join(work, 'dumpall.yaml');
    await writeFile(drill, [...header('dumpall-guard'), '  runtime: local', '  stores:', '    db:', '      engine: postgres', '      restore:', `        - { artefact: ${fixture}, format: dumpall }`,
      '  checks:',
      '    - { id: odd, type: query, store: db, database: "it\'s \\\\ \\"odd\\"", sql: "select string_agg(a, \'|\' order by a) from t", expect: { equals: "\\\\.|back\\\\slash|quote\'s" } }'].join('\n'));
    const report = await runDrill(drill, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify({ errors: report.errors, steps: report.stores[0]?.steps }));
    assert.equal(await leftovers(report.runId), 0);
  });
});

/** pg_dumpall of a throwaway server holding a database whose name needs `\connect -reuse-previous=on "dbname='…'"`. */
async function makeDumpall(work: string): Promise<string> {
  const { startLocalPostgres } = await import('../../src/engines/postgres/local.ts');
  const { runTool } = await import('../../src/util/process.ts');
  const pg = (await import('pg')).default;
  const store = await startLocalPostgres({ runId: `dumpall-fixture-${process.pid}`, drillName: 'fixture', storeName: 'source', spec: { engine: 'postgres', restore: [] } as never, drillDir: work, signal: new AbortController().signal });
  try {
    const admin = new pg.Client({ ...store.endpoint, database: 'postgres' });
    await admin.connect();
    await admin.query(`create database "it's \\ ""odd"""`);
    await admin.end();
    const db = new pg.Client({ ...store.endpoint, database: `it's \\ "odd"` });
    await db.connect();
    await db.query("create table t(a text); insert into t values (E'back\\\\slash'), ('quote''s'), (E'\\\\.')");
    await db.end();
    const file = join(work, 'all.sql');
    const dumpall = join((process.env.RESTOREPROOF_PG_BINDIR ?? '/usr/lib/postgresql/15/bin'), 'pg_dumpall');
    const run = await runTool({ command: dumpall, args: ['-f', file, '--no-role-passwords'], env: { PGHOST: '127.0.0.1', PGPORT: String(store.endpoint.port), PGUSER: store.endpoint.user, PGPASSWORD: store.endpoint.password } });
    assert.equal(run.exitCode, 0, run.stderr);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^\\connect -reuse-previous=on "dbname='it\\'s \\\\ ""odd""'"$/m, 'pg_dumpall wrote the quoted \\connect form');
    return file;
  } finally {
    await store.stop();
  }
}

forEachRuntime('faults: COPY … FROM PROGRAM in a backup sees none of the harness\'s secrets', { backends: ['postgres'] }, (runtime) => {
  let work: string;
  const secrets = { RP_FAULT_S3_SECRET: `s3-${randomBytes(12).toString('hex')}`, RP_FAULT_PASSPHRASE: `pass-${randomBytes(12).toString('hex')}` };
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-program-'));
    Object.assign(process.env, secrets);
  });
  after(async () => {
    for (const name of Object.keys(secrets)) delete process.env[name];
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('env and id -u through COPY … FROM PROGRAM: the program ran, not as root, and saw no harness secret', async () => {
    await writeFile(join(work, 'program.sql'), [
      'create table env_lines(line text);',
      "COPY env_lines FROM PROGRAM 'env';",
      'create table whoami(uid int);',
      "COPY whoami FROM PROGRAM 'id -u';",
      '',
    ].join('\n'));
    const drill = join(work, 'program.yaml');
    const like = (value: string) => `select count(*) from env_lines where line like '%${value}%'`;
    await writeFile(drill, [...header('copy-from-program'), '  stores:', '    db:', '      engine: postgres', '      restore:', '        - { artefact: program.sql, database: app }',
      '  checks:',
      '    - { id: program-ran, type: query, store: db, database: app, sql: "select count(*) from env_lines", expect: { min: 1 } }',
      '    - { id: not-root, type: query, store: db, database: app, sql: "select min(uid) from whoami", expect: { min: 1 } }',
      ...Object.entries(secrets).map(([name, value]) => `    - { id: no-${name.toLowerCase().replaceAll('_', '-')}, type: query, store: db, database: app, sql: "${like(value)}", expect: { equals: 0 } }`),
      `    - { id: no-harness-variables, type: query, store: db, database: app, sql: "select count(*) from env_lines where line like 'RP_FAULT_%' or line like 'RESTOREPROOF_%' or line like 'AWS_%'", expect: { equals: 0 } }`,
    ].join('\n'));
    const report = await runDrill(drill, { runtime, reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
    assertValidReport(report);
    const failed = report.checks.filter((c) => c.status !== 'passed');
    recordFault(`backup: COPY FROM PROGRAM [${runtime}]`, { clearError: report.status === 'passed', leftovers: runtime === 'local' ? await leftovers(report.runId) : 0 });
    assert.deepEqual(failed.map((c) => [c.id, c.actual]), [], JSON.stringify(report.errors));
    assert.equal(report.status, 'passed');
  });
});

describe('faults: the environment of every local server and of the local app holds no drill secret', function () {
  let work: string;
  const harnessSecret = `harness-${randomBytes(12).toString('hex')}`;
  const appToken = `app-token-${randomBytes(12).toString('hex')}`;
  before(async function () {
    requireBackends(this, 'postgres', 'mongo', 'minio', 'redis');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-environ-'));
    process.env.RP_FAULT_HARNESS_SECRET = harnessSecret;
    process.env.RP_FAULT_APP_TOKEN = appToken;
  });
  after(async () => {
    delete process.env.RP_FAULT_HARNESS_SECRET;
    delete process.env.RP_FAULT_APP_TOKEN;
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('postgres, the MongoDB-wire server, minio, redis and the app: /proc/<pid>/environ, and servers run as an unprivileged account', async () => {
    const platform = await makePlatformBackups(join(work, 'platform'));
    const drillText = (await readFile(fixtureDrill('platform.yaml'), 'utf8')).replace('  stores:', '  runtime: local\n  stores:')
      .replace('  checks:', [
        '  app:',
        `    command: [${process.execPath}, -e, "require('node:http').createServer((q, s) => s.end('ok')).listen(process.env.PORT, '127.0.0.1')"]`,
        '    env: { DATABASE_URL: "${stores.db.url:platform}", APP_TOKEN: { env: RP_FAULT_APP_TOKEN } }',
        '  checks:',
        '    - { id: app-up, type: http, path: /, expect: { status: 200 } }',
      ].join('\n'));
    const drill = join(work, 'environ.yaml');
    await writeFile(drill, drillText);
    let seen: ReturnType<typeof runProcesses> = [];
    let runId = '';
    const probe: Reporter = {
      onRunStart: (event) => void (runId = event.runId),
      // Servers and the app are up while checks run: look once.
      onCheckStart: () => void (seen.length || (seen = runProcesses(runId))),
    };
    const report = await runDrill(drill, { reportDir: join(work, 'reports'), env: { ...(process.env as Record<string, string>), RESTOREPROOF_PLATFORM: platform.dir }, reporters: [probe] });
    assertValidReport(report);
    assert.equal(report.status, 'passed', JSON.stringify(report.errors));
    const kinds = (pattern: RegExp) => seen.filter((p) => pattern.test(p.cmd));
    const servers = { postgres: kinds(/\/postgres /), mongo: kinds(/ferretdb|mongod/), minio: kinds(/minio server/), redis: kinds(/redis-server/) };
    const app = seen.filter((p) => p.environ.includes(`RESTOREPROOF_RUN_ID=${runId}`) && p.cmd.includes('createServer'));
    for (const [name, found] of Object.entries(servers)) assert.ok(found.length >= 1, `no ${name} process of run ${runId} found: ${seen.map((p) => p.cmd).join('; ')}`);
    assert.equal(app.length, 1, 'the app process');
    const leaks: string[] = [];
    for (const p of seen.filter((q) => q !== app[0])) {
      for (const [what, value] of [['harness secret', harnessSecret], ['app token', appToken]] as const) if (p.environ.includes(value)) leaks.push(`${p.cmd.slice(0, 60)}: ${what}`);
      if (/^(RP_FAULT_|AWS_|RESTOREPROOF_)/m.test(p.environ)) leaks.push(`${p.cmd.slice(0, 60)}: a harness variable`);
      if (p.uid === 0 && process.getuid?.() === 0) leaks.push(`${p.cmd.slice(0, 60)}: runs as root`);
    }
    if (app[0]!.environ.includes(harnessSecret)) leaks.push('app: harness secret');
    if (!app[0]!.environ.includes(`APP_TOKEN=${appToken}`)) leaks.push('app: its own APP_TOKEN is missing (the probe would prove nothing)');
    recordFault('environment of servers and app [local]', { clearError: leaks.length === 0, injected: seen.length, leftovers: await leftovers(report.runId) });
    assert.deepEqual(leaks, []);
    assert.equal(await leftovers(report.runId), 0);
  });

  it('influxd (started as the local runtime starts it): /proc/<pid>/environ and its account', async function () {
    requireBackends(this, 'influxdb');
    const { startLocalInflux } = await import('../../src/engines/influxdb/local.ts');
    const store = await startLocalInflux({ runId: `environ-influx-${process.pid}`, drillName: 'environ', storeName: 'tsdb', spec: { engine: 'influxdb', restore: [] }, drillDir: work, signal: new AbortController().signal });
    try {
      const pid = (store as unknown as { server: { pid: number } }).server.pid;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
      const leaks = [
        ...(environ.includes(harnessSecret) ? ['harness secret'] : []),
        ...(environ.includes(appToken) ? ['app token'] : []),
        ...(uid === 0 && process.getuid?.() === 0 ? ['runs as root'] : []),
      ];
      recordFault('environment of servers and app [local]', { clearError: leaks.length === 0 });
      assert.deepEqual(leaks, []);
      assert.match(environ, /(^|\0)PATH=/, 'the probe reads a real environment');
    } finally {
      await store.stop();
    }
  });
});

describe('faults: the app\'s secrets on the containers runtime are not in docker inspect', function () {
  let work: string;
  let restore: (() => void) | undefined;
  const appToken = `app-token-${randomBytes(12).toString('hex')}`;
  before(async function () {
    requireBackends(this, 'postgres', 'docker');
    restore = useTestbedImages();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-app-inspect-'));
    process.env.RP_FAULT_APP_TOKEN = appToken;
  });
  after(async () => {
    restore?.();
    delete process.env.RP_FAULT_APP_TOKEN;
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the app reads APP_TOKEN and DATABASE_URL from its environment; the container config holds neither, nor their names', async () => {
    await writeFile(join(work, 'empty.sql'), 'create table t(id int);\n');
    // The app answers with the sha256 of what it was given, so the check proves the value arrived.
    const app = "const h = (v) => require('node:crypto').createHash('sha256').update(String(v)).digest('hex'); require('node:http').createServer((q, s) => s.end(h(process.env.APP_TOKEN) + ' ' + (process.env.DATABASE_URL || '').split('@')[1])).listen(process.env.PORT, '0.0.0.0')";
    const digest = createHash('sha256').update(appToken).digest('hex');
    const drill = join(work, 'app-inspect.yaml');
    await writeFile(drill, [...header('app-inspect'), '  runtime: containers', '  stores:', '    db:', '      engine: postgres', '      restore:', '        - { artefact: empty.sql, database: app }',
      '  app:', `    command: [node, -e, ${JSON.stringify(app)}]`, '    env: { DATABASE_URL: "${stores.db.url:app}", APP_TOKEN: { env: RP_FAULT_APP_TOKEN } }',
      '  checks:', `    - { id: app-got-its-env, type: http, path: /, expect: { status: 200, body: "^${digest} db:5432/app$" } }`].join('\n'));
    let runId = '';
    let inspected: { env: string[]; entrypoint: string[]; cmd: string[] } | undefined;
    const probe: Reporter = { onRunStart: (e) => void (runId = e.runId), onCheckStart: () => void (inspectPromise ??= inspectApp(runId).then((i) => (inspected = i))) };
    let inspectPromise: Promise<unknown> | undefined;
    const report = await runDrill(drill, { reportDir: join(work, 'reports'), env: process.env as Record<string, string>, reporters: [probe] });
    await inspectPromise;
    assertValidReport(report);
    const config = JSON.stringify(inspected ?? {});
    const leaks = [
      ...(config.includes(appToken) ? ['APP_TOKEN value'] : []),
      // (the command itself names them: only the environment must not)
      ...(inspected?.env.some((e) => /^(APP_TOKEN|DATABASE_URL)=/.test(e)) ? ['a drill variable'] : []),
      ...(/postgres:\/\//.test(config) ? ['a store URL'] : []),
    ];
    recordFault('app secrets in docker inspect [containers]', { clearError: report.status === 'passed' && leaks.length === 0 && inspected !== undefined });
    assert.equal(report.status, 'passed', JSON.stringify({ errors: report.errors, checks: report.checks.map((c) => [c.id, c.status, c.message]) }));
    assert.ok(inspected, 'the app container was inspected while it ran');
    assert.deepEqual(leaks, []);
    assert.ok(inspected!.env.some((e) => e.startsWith('PORT=')), 'the inspected config is the app container');
  });
});

/** `docker inspect` of the run's app container: its env, entrypoint and command. */
async function inspectApp(runId: string): Promise<{ env: string[]; entrypoint: string[]; cmd: string[] }> {
  const { docker } = await import('../../src/runtimes/containers/docker.ts');
  const [info] = await docker().listContainers({ filters: { label: [`restoreproof.run=${runId}`, 'restoreproof.role=app'] } });
  assert.ok(info, `no app container of run ${runId}`);
  const config = (await docker().getContainer(info.Id).inspect()).Config;
  return { env: config.Env ?? [], entrypoint: ([] as string[]).concat(config.Entrypoint ?? []), cmd: config.Cmd ?? [] };
}
