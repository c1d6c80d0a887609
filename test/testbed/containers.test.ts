// Smoke test of the test bed's Docker engine and its local images through `testcontainers`,
// the library the containers runtime uses: each image starts, its port is mapped to
// 127.0.0.1, `exec` runs in it, a file is copied in, and it stops. Every container carries
// the label restoreproof.run=<id> so that `scripts/testbed stop` can find leftovers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { MongoClient } from 'mongodb';
import * as Minio from 'minio';
import { requireBackends, testbed } from '../support/backends.ts';

type TC = typeof import('testcontainers');
type Started = import('testcontainers').StartedTestContainer;

const runId = `testbed-smoke-${process.pid}-${randomBytes(3).toString('hex')}`;

function redisPing(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    let data = '';
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) { s.destroy(); resolve(data.trim()); }
    });
    s.once('error', reject);
  });
}

describe('test bed: docker (local images through testcontainers)', function () {
  let tc: TC;
  let images: Record<string, string> = {};
  const started: Started[] = [];

  /** A GenericContainer whose exposed ports are published on 127.0.0.1 only. */
  function container(image: string, ...ports: number[]) {
    class LoopbackContainer extends tc.GenericContainer {
      protected override async beforeContainerCreated(): Promise<void> {
        for (const b of Object.values(this.hostConfig.PortBindings ?? {}) as { HostIp?: string }[][]) {
          for (const binding of b) binding.HostIp = '127.0.0.1';
        }
      }
    }
    return new LoopbackContainer(image)
      .withExposedPorts(...ports)
      .withLabels({ 'restoreproof.run': runId })
      .withPullPolicy(tc.PullPolicy.defaultPolicy())
      .withStartupTimeout(60_000); // under mocha's 120 s, so testcontainers says what it waited for
  }

  async function start(c: ReturnType<typeof container>): Promise<Started> {
    const s = await c.start();
    started.push(s);
    return s;
  }

  async function stop(s: Started): Promise<void> {
    await s.stop();
    started.splice(started.indexOf(s), 1);
  }

  async function execOk(s: Started, cmd: string[]): Promise<string> {
    const r = await s.exec(cmd);
    assert.equal(r.exitCode, 0, `${cmd.join(' ')}: ${r.output}`);
    return r.output;
  }

  async function copyInAndRead(s: Started): Promise<void> {
    const content = `copied in by ${runId}\n`;
    await s.copyContentToContainer([{ content, target: '/tmp/restoreproof-smoke.txt' }]);
    assert.equal(await execOk(s, ['cat', '/tmp/restoreproof-smoke.txt']), content);
  }

  /** The container's port is published on 127.0.0.1 only, and carries our run label. */
  async function assertLoopback(s: Started, port: number): Promise<number> {
    const mapped = s.getMappedPort(port);
    const client = await tc.getContainerRuntimeClient();
    const info = await client.container.inspect(client.container.getById(s.getId()));
    const bindings = info.NetworkSettings.Ports[`${port}/tcp`] ?? [];
    assert.deepEqual(bindings.map((b) => b.HostIp), ['127.0.0.1']);
    assert.equal(Number(bindings[0]!.HostPort), mapped);
    assert.equal(info.Config.Labels['restoreproof.run'], runId);
    return mapped;
  }

  before(async function () {
    // scripts/testbed records unavailable.docker when dockerd cannot run on this machine at all:
    // then there is no engine to test, and this is a loud skip even under CI (issue 3). Any other
    // missing docker backend is a provisioning failure and fails under CI.
    const unavailable = (testbed() as { unavailable?: Record<string, string> }).unavailable?.docker;
    if (unavailable && !testbed().backends.docker) {
      console.warn(`\n  SKIPPED: no Docker engine on this machine: ${unavailable}\n`);
      this.skip();
    }
    requireBackends(this, 'docker');
    const env = testbed();
    process.env.DOCKER_HOST = env.DOCKER_HOST ?? String(env.backends.docker!.host);
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
    images = env.backends.docker!.images as Record<string, string>;
    tc = await import('testcontainers');
  });

  after(async function () {
    for (const s of started.splice(0)) await s.stop({ remove: true, removeVolumes: true }).catch(() => {});
  });

  it('postgres image: works like postgres:15, never as root', async function () {
    const password = randomBytes(12).toString('hex');
    const s = await start(
      container(images.postgres!, 5432)
        .withEnvironment({ POSTGRES_PASSWORD: password, POSTGRES_USER: 'drill', POSTGRES_DB: 'restored' })
        .withWaitStrategy(tc.Wait.forLogMessage(/database system is ready to accept connections/, 2)),
    );
    const client = new pg.Client({ host: '127.0.0.1', port: await assertLoopback(s, 5432), user: 'drill', password, database: 'restored' });
    await client.connect();
    try {
      const r = await client.query<{ v: string; u: string }>('SELECT current_setting(\'server_version_num\') AS v, current_user AS u');
      assert.equal(r.rows[0]!.v.slice(0, 2), '15');
      assert.equal(r.rows[0]!.u, 'drill');
    } finally {
      await client.end();
    }
    assert.equal((await execOk(s, ['ps', '-o', 'user=', '-C', 'postgres'])).split('\n').filter(Boolean).every((u) => u.trim() === 'postgres'), true);
    assert.match(await execOk(s, ['pg_dump', '--version']), /\(PostgreSQL\) 15\./);
    assert.match(await execOk(s, ['psql', '-U', 'drill', '-d', 'restored', '-tAc', 'select 40 + 2']), /^42$/m);
    await copyInAndRead(s);
    await stop(s);
  });

  it('redis image: redis-server 7 with redis-cli', async function () {
    const s = await start(container(images.redis!, 6379));
    assert.equal(await redisPing('127.0.0.1', await assertLoopback(s, 6379)), '+PONG');
    assert.match(await execOk(s, ['redis-cli', 'INFO', 'server']), /redis_version:7\./);
    await copyInAndRead(s);
    await stop(s);
  });

  it('minio image: MINIO_ROOT_USER / MINIO_ROOT_PASSWORD', async function () {
    const accessKey = `rp${randomBytes(5).toString('hex')}`;
    const secretKey = randomBytes(16).toString('hex');
    const s = await start(
      container(images.minio!, 9000)
        .withEnvironment({ MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey })
        .withWaitStrategy(tc.Wait.forHttp('/minio/health/ready', 9000)),
    );
    const client = new Minio.Client({ endPoint: '127.0.0.1', port: await assertLoopback(s, 9000), useSSL: false, accessKey, secretKey });
    await client.makeBucket('smoke');
    await client.putObject('smoke', 'a.txt', Buffer.from('hello'));
    assert.equal((await client.statObject('smoke', 'a.txt')).size, 5);
    assert.match(await execOk(s, ['minio', '--version']), /minio version/i);
    await copyInAndRead(s);
    await stop(s);
  });

  it('mongo image: the MongoDB-compatible server used by the test bed, with mongo-tools', async function () {
    const s = await start(container(images.mongo!, 27017));
    const client = new MongoClient(`mongodb://127.0.0.1:${await assertLoopback(s, 27017)}/`, { directConnection: true });
    await client.connect();
    try {
      await client.db('smoke').collection('c').insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]);
      assert.equal(await client.db('smoke').collection('c').countDocuments(), 3);
    } finally {
      await client.close();
    }
    await execOk(s, ['mongodump', '--uri=mongodb://127.0.0.1:27017/', '--db=smoke', '--archive=/tmp/smoke.archive', '--gzip']);
    await execOk(s, ['mongorestore', '--uri=mongodb://127.0.0.1:27017/', '--archive=/tmp/smoke.archive', '--gzip',
      '--nsFrom=smoke.*', '--nsTo=copy.*']);
    const verify = new MongoClient(`mongodb://127.0.0.1:${s.getMappedPort(27017)}/`, { directConnection: true });
    await verify.connect();
    try {
      assert.equal(await verify.db('copy').collection('c').countDocuments(), 3);
    } finally {
      await verify.close();
    }
    await copyInAndRead(s);
    await stop(s);
  });

  it("app image: the project's Node 24 and the sample app, as nobody on 0.0.0.0:$PORT", async function () {
    assert.ok(images.app, 'env.json names the app image (backends.docker.images.app)');
    // No database behind it: the sample app still listens, and /ready says why it is not ready.
    const s = await start(
      container(images.app!, 8080)
        .withEnvironment({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })
        .withWaitStrategy(tc.Wait.forLogMessage(/sample app listening on 0\.0\.0\.0:8080/)),
    );
    const port = await assertLoopback(s, 8080);
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    assert.equal(ready.status, 503);
    assert.match(await execOk(s, ['node', '-p', 'process.versions.node']), /^24\./);
    assert.equal((await execOk(s, ['ps', '-o', 'user=', '-p', '1'])).trim(), 'nobody');
    assert.match(await execOk(s, ['node', '--input-type=module', '-e', "import pg from 'pg'; console.log(typeof pg.Pool)"]), /function/);
    await stop(s);
  });
});
