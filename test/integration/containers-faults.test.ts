// The containers runtime when things go wrong, against the test bed's Docker engine and images:
// SIGINT in the middle of a restore, leftovers of a killed harness (gc), a store container that
// dies mid-restore, an engine that goes away mid-restore (its socket closed by a proxy in front
// of the real engine), and an image without the restore tool. Nothing is mocked.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { makePlatformBackups, type PlatformBackups } from '../../scripts/lib/platform-backups.ts';
import { newRunId } from '../../src/run/identity.ts';
import { runDrill } from '../../src/run/run.ts';
import { Readable } from 'node:stream';
import { runtimes } from '../../src/runtimes/index.ts';
import { requireBackends, testbed, testbedImageEnv, useTestbedBinaries, useTestbedImages } from '../support/backends.ts';
import { containerProcesses, docker, leftovers } from '../support/docker.ts';
import { assertValidReport, demoBackups, fixtureDrill, runCli } from '../support/fixtures.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

describe('containers runtime: interruption, leftovers and faults', function () {
  let work: string;
  let fixtures: string;
  let platform: PlatformBackups;
  let restoreEnv: (() => void) | undefined;
  const planted: string[] = [];
  const plantedNetworks: string[] = [];
  const images: string[] = [];

  before(async function () {
    requireBackends(this, 'docker', 'postgres', 'mongo');
    useTestbedBinaries();
    restoreEnv = useTestbedImages();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-containers-'));
    fixtures = (await demoBackups()).dir;
    platform = await makePlatformBackups(join(work, 'platform'));
  });
  after(async () => {
    for (const id of planted) {
      try {
        docker(['rm', '-f', id]);
      } catch {
        // already gone
      }
    }
    for (const id of plantedNetworks) {
      try {
        docker(['network', 'rm', id]);
      } catch {
        // already gone
      }
    }
    for (const image of images) {
      try {
        docker(['rmi', '-f', image]);
      } catch {
        // already gone
      }
    }
    restoreEnv?.();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('SIGINT in the middle of a restore removes every container and the network of the run', async () => {
    let sent = false;
    const result = await runCli(['run', fixtureDrill('slow.yaml'), '--runtime', 'containers', '--report-dir', join(work, 'reports'), '--json'], {
      env: { ...testbedImageEnv(), RESTOREPROOF_FIXTURES: fixtures },
      onStderr: (text, child) => {
        if (!sent && /restore app: psql/.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.equal(sent, true, result.stderr);
    assert.equal(result.code, 130, result.stderr);
    const runId = /restoreproof run (\S+):/.exec(result.stderr)![1]!;
    const report = JSON.parse(result.stdout);
    assertValidReport(report);
    assert.equal(report.status, 'aborted');
    assert.equal(report.teardown.status, 'completed');
    assert.deepEqual(report.teardown.resources.map((r: { kind: string }) => r.kind).sort(), ['container', 'network']);
    assert.deepEqual(leftovers(runId), { containers: '', networks: '' });
  });

  it('gc removes expired leftovers and leaves unexpired and foreign ones alone', async () => {
    const image = testbed().backends.docker!.images as Record<string, string>;
    const tag = randomBytes(3).toString('hex');
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const plant = (name: string, labels: Record<string, string>) => {
      const id = docker(['create', '--name', name, ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), image.redis!]);
      planted.push(id);
      return id;
    };
    const expired = plant(`rp-test-expired-${tag}`, { 'restoreproof.run': `gc-${tag}-old`, 'restoreproof.drill': 'gc', 'restoreproof.expires-at': past });
    docker(['start', expired]);
    const unexpired = plant(`rp-test-unexpired-${tag}`, { 'restoreproof.run': `gc-${tag}-new`, 'restoreproof.drill': 'gc', 'restoreproof.expires-at': future });
    const foreign = plant(`rp-test-foreign-${tag}`, { 'com.example.owner': 'someone-else' });
    const expiredNet = docker(['network', 'create', '--label', `restoreproof.run=gc-${tag}-old`, '--label', `restoreproof.expires-at=${past}`, `rp-test-expired-${tag}`]);
    const unexpiredNet = docker(['network', 'create', '--label', `restoreproof.run=gc-${tag}-new`, '--label', `restoreproof.expires-at=${future}`, `rp-test-unexpired-${tag}`]);
    plantedNetworks.push(expiredNet, unexpiredNet);

    const result = await runCli(['gc', '--runtime', 'containers'], { env: testbedImageEnv() });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`removed container rp-test-expired-${tag}`));
    assert.match(result.stdout, new RegExp(`removed network rp-test-expired-${tag}`));
    const all = docker(['ps', '-aq', '--no-trunc']).split('\n');
    assert.equal(all.includes(expired), false, 'the expired container is gone');
    assert.equal(all.includes(unexpired), true, 'the unexpired container stays');
    assert.equal(all.includes(foreign), true, 'the foreign container stays');
    const nets = docker(['network', 'ls', '-q', '--no-trunc']).split('\n');
    assert.equal(nets.includes(expiredNet), false);
    assert.equal(nets.includes(unexpiredNet), true);
  });

  it('an input that failed before the tool started (a short truncated gzip) ends the tool\'s stdin: the step fails, it does not hang', async () => {
    const runId = newRunId();
    const store = await runtimes.containers.provision({ runId, drillName: 'stdin-errored', storeName: 'db', spec: { engine: 'postgres', restore: [] } as never, drillDir: work, signal: new AbortController().signal });
    try {
      const input = new Readable({ read() {} });
      input.on('error', () => {});
      input.destroy(new Error('unexpected end of file'));
      const run = await store.exec('psql', ['-X', '-q', '--dbname', 'postgres'], { stdin: input });
      assert.equal(run.inputError, 'unexpected end of file');
    } finally {
      await store.stop();
    }
    assert.deepEqual(leftovers(runId), { containers: '', networks: '' });
  });

  it('a store container killed mid-restore fails the drill with its last log lines, and nothing is left', async () => {
    const runId = newRunId();
    let killed = false;
    let poll: NodeJS.Timeout | undefined;
    const report = await runDrill(fixtureDrill('slow.yaml'), {
      runtime: 'containers',
      runId,
      reportDir: join(work, 'reports'),
      env: { ...process.env, RESTOREPROOF_FIXTURES: fixtures },
      reporters: [{
        onStepStart: () => {
          // Once psql runs inside the container (it then blocks in pg_sleep), kill the container.
          const name = `restoreproof-${runId}-app`;
          poll = setInterval(() => {
            if (!/psql/.test(containerProcesses(name))) return; // not running yet, or already gone
            clearInterval(poll);
            killed = true;
            docker(['kill', name]);
          }, 100);
        },
      }],
    });
    clearInterval(poll);
    assertValidReport(report);
    assert.equal(killed, true);
    assert.equal(report.exitCode, 1);
    const step = report.stores[0]!.steps[0]!;
    assert.equal(step.status, 'failed');
    assert.match(step.error ?? '', /stopped while psql ran/);
    assert.equal(step.errorCode, 'E_CONTAINER_DIED');
    assert.match(step.error ?? '', /last log lines:\n.*\S/s);
    assert.match(step.error ?? '', /database system is ready to accept connections|PostgreSQL/);
    assert.ok(report.errors.some((e) => /stopped while psql ran/.test(e.message)));
    assert.equal(report.teardown.status, 'completed');
    assert.deepEqual(leftovers(runId), { containers: '', networks: '' });
  });

  it('a Docker engine that goes away mid-restore: the drill could not run (exit 3, not a failed backup), with a clear message, and the report lists what it could not remove', async () => {
    // The harness talks to the real engine through a socket that this test closes mid-restore:
    // to the harness the engine is gone, while the engine keeps the containers for the test to inspect.
    const engine = (testbedImageEnv().DOCKER_HOST ?? '').replace(/^unix:\/\//, '');
    assert.ok(engine, 'the test bed names its Docker socket');
    const proxyPath = join(work, 'engine.sock');
    const open = new Set<Socket>();
    // Half-open like the engine's own socket: the harness ends an exec's stdin with a half-close
    // (psql then sees EOF), which must reach the engine, not close the connection under the test.
    const proxy = createServer({ allowHalfOpen: true }, (client) => {
      const upstream = connect({ path: engine, allowHalfOpen: true });
      open.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => (client.destroy(), upstream.destroy());
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => proxy.listen(proxyPath, r));
    let cut = false;
    let runId = '';
    let poll: NodeJS.Timeout | undefined;
    try {
      const result = await runCli(['run', fixtureDrill('slow.yaml'), '--runtime', 'containers', '--report-dir', join(work, 'reports'), '--json'], {
        env: { ...testbedImageEnv(), DOCKER_HOST: `unix://${proxyPath}`, RESTOREPROOF_FIXTURES: fixtures },
        onStderr: (text) => {
          runId ||= /restoreproof run (\S+):/.exec(text)?.[1] ?? '';
          if (poll || !runId || !/restore app: psql/.test(text)) return;
          // Once psql runs in the container (blocked in pg_sleep, its exec stream open), the engine goes.
          poll = setInterval(() => {
            if (!/psql/.test(containerProcesses(`restoreproof-${runId}-app`))) return;
            clearInterval(poll);
            cut = true;
            proxy.close();
            for (const socket of open) socket.destroy();
          }, 100);
        },
      });
      clearInterval(poll);
      assert.equal(cut, true, result.stderr);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, new RegExp(`the Docker engine at unix://${proxyPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} stopped answering while running psql`));
      assert.doesNotMatch(result.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
      const report = JSON.parse(result.stdout);
      assertValidReport(report);
      assert.equal(report.status, 'could-not-run');
      assert.match(report.stores[0]!.steps[0]!.error ?? '', /the Docker engine at .* stopped answering while running psql/);
      // Automation tells an infrastructure failure from a bad backup by the code.
      assert.equal(report.stores[0]!.steps[0]!.errorCode, 'E_DOCKER_GONE');
      assert.ok(report.errors.some((e: { code: string }) => e.code === 'E_DOCKER_GONE'), JSON.stringify(report.errors));
      // Nothing could be removed through a gone engine: the report says so, and the leftovers carry the run's labels.
      assert.equal(report.teardown.status, 'incomplete');
      assert.ok(report.teardown.resources.some((r: { kind: string; removed?: boolean }) => r.kind === 'container' && r.removed === false), JSON.stringify(report.teardown.resources));
      assert.notEqual(leftovers(runId).containers, '');
    } finally {
      clearInterval(poll);
      proxy.close();
      if (runId) {
        for (const id of leftovers(runId).containers.split('\n').filter(Boolean)) docker(['rm', '-f', id]);
        for (const id of leftovers(runId).networks.split('\n').filter(Boolean)) docker(['network', 'rm', id]);
      }
    }
    assert.deepEqual(leftovers(runId), { containers: '', networks: '' });
  });

  it('an image without the restore tool fails in preflight, naming the command, before any restore', async () => {
    const image = testbed().backends.docker!.images as Record<string, string>;
    const noTools = `restoreproof-test/mongo-without-mongorestore:${randomBytes(3).toString('hex')}`;
    docker(['build', '-q', '-t', noTools, '-'], `FROM ${image.mongo}\nRUN rm -f "$(command -v mongorestore)"\n`);
    images.push(noTools);
    const drill = join(work, 'no-tools.yaml');
    await writeFile(drill, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: no-tools }', 'spec:', '  stores:', '    docs:', '      engine: mongodb',
      `      image: ${noTools}`, '      restore:', `        - { artefact: ${platform.dir}/mongo.archive.gz, indexes: false }`,
      '  checks:', '    - { type: count, store: docs, database: plexicus, collection: scans, expect: { equals: 40 } }', '',
    ].join('\n'));
    const runId = newRunId();
    const report = await runDrill(drill, { runtime: 'containers', runId, reportDir: join(work, 'reports') });
    assertValidReport(report);
    // A tool missing from the image: the drill could not run; the backup was never tried.
    assert.deepEqual([report.status, report.exitCode], ['could-not-run', 3]);
    const error = report.errors.find((e) => e.code === 'E_PREFLIGHT');
    assert.ok(error, JSON.stringify(report.errors));
    assert.match(error.message, /has no mongorestore/);
    assert.equal(report.phases.find((p) => p.name === 'provision')!.status, 'failed');
    assert.equal(report.phases.find((p) => p.name === 'restore')!.status, 'skipped');
    assert.deepEqual(report.stores[0]!.steps, []);
    assert.deepEqual(leftovers(runId), { containers: '', networks: '' });
  });

  it('per-store CPU and memory limits reach the container; --keep leaves it running with its connection help', async () => {
    const drill = join(work, 'limits.yaml');
    await writeFile(drill, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: limits }', 'spec:', '  stores:', '    app:', '      engine: postgres',
      '      resources: { cpus: 1.5, memory: 768Mi }', '      restore:', `        - { artefact: ${fixtures}/shop.dump, database: shop }`,
      '  checks:', '    - { type: count, store: app, table: customers, expect: { equals: 500 } }', '',
    ].join('\n'));
    const runId = newRunId();
    const report = await runDrill(drill, { runtime: 'containers', runId, keep: true, reportDir: join(work, 'reports') });
    try {
      assertValidReport(report);
      assert.equal(report.status, 'passed', JSON.stringify(report.errors));
      assert.equal(report.teardown.status, 'kept');
      const connection = report.stores[0]!.connection!.join('\n');
      // The run network is internal: the store is reached at its address on it.
      assert.match(connection, /postgres:\/\/restoreproof_[0-9a-f]+@\d+\.\d+\.\d+\.\d+:5432\/postgres/);
      assert.doesNotMatch(connection, /:[^@/\s]+@\d/, 'no password in the connection help');
      const host = JSON.parse(docker(['inspect', `restoreproof-${runId}-app`, '--format', '{{json .HostConfig}}'])) as { NanoCpus: number; Memory: number };
      assert.equal(host.NanoCpus, 1.5e9);
      assert.equal(host.Memory, 768 * 1024 ** 2);
    } finally {
      for (const id of leftovers(runId).containers.split('\n').filter(Boolean)) docker(['rm', '-f', id]);
      for (const id of leftovers(runId).networks.split('\n').filter(Boolean)) docker(['network', 'rm', id]);
      // The kept run's record of its harness and expiry (for gc) goes with it.
      for (const owner of await runDirsNamed(`restoreproof-${runId}-owner.json`)) await rm(owner, { force: true });
    }
    assert.deepEqual(leftovers(runId), { containers: '', networks: '' });
  });

  it('asking for containers without an engine: the drill could not run (exit 3), naming the DOCKER_HOST tried', async () => {
    const host = `unix://${join(work, 'no-such-docker.sock')}`;
    const result = await runCli(['run', fixtureDrill('count-fails.yaml'), '--runtime', 'containers', '--report-dir', join(work, 'reports')], {
      env: { DOCKER_HOST: host, RESTOREPROOF_FIXTURES: fixtures },
    });
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, new RegExp(`^error E_NO_DOCKER: .*DOCKER_HOST=${host.replace(/[/.]/g, '\\$&')}`, 'm'));
    assert.match(result.stderr, /^COULD-NOT-RUN: /m);
  });

  it('auto picks containers when the engine answers and says why, in the report and on stderr', async () => {
    const result = await runCli(['run', fixtureDrill('count-fails.yaml'), '--report-dir', join(work, 'reports'), '--json'], {
      env: { ...testbedImageEnv(), RESTOREPROOF_FIXTURES: fixtures, RESTOREPROOF_RUNTIME: 'auto' },
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /runtime containers \(auto: a Docker engine .* answers at unix:/);
    const report = JSON.parse(result.stdout);
    assert.equal(report.runtime, 'containers');
    assert.equal(report.runtimeSelection.requested, 'auto');
    assert.deepEqual(leftovers(report.runId), { containers: '', networks: '' });
  });
});
