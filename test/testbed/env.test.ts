// `scripts/testbed env`: the exports a user evals to run the reference drills against the test bed,
// and proof that they are enough: the plexicus generator and its drill in an environment holding
// nothing else.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireBackends, testbed } from '../support/backends.ts';
import { runCommand } from '../support/fixtures.ts';

// Only what any shell has, and the repo's Node first on PATH (as `npx` or the npm scripts put it).
const bareEnv = () => ({ HOME: process.env.HOME ?? '/root', PATH: `${dirname(process.execPath)}:/usr/bin:/bin` });

describe('scripts/testbed env', function () {
  let work: string | undefined;
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('prints an export for every binary, the engine, the images and the cluster env.json records', async function () {
    requireBackends(this, 'postgres', 'mongo', 'minio', 'redis');
    const { code, stdout, stderr } = await runCommand('/bin/bash', ['-c', 'scripts/testbed env'], { env: bareEnv() });
    assert.equal(code, 0, stderr);
    const exported = Object.fromEntries([...stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
    const b = testbed().backends as Record<string, Record<string, string>>;
    assert.equal(exported.RESTOREPROOF_MONGOD, b.mongo!.server);
    assert.equal(exported.RESTOREPROOF_MONGO_TOOLS, dirname(b.mongo!.mongorestore!));
    assert.equal(exported.RESTOREPROOF_MINIO, b.minio!.server);
    assert.equal(exported.RESTOREPROOF_REDIS_SERVER, b.redis!.server);
    assert.equal(exported.RESTOREPROOF_PG_BINDIR, b.postgres!.binDir);
    assert.equal(exported.RESTOREPROOF_RUNTIME, 'local');
    assert.equal(exported.PLEXICUS_MONGO_INDEXES, 'false');
    if (b.docker) {
      assert.equal(exported.DOCKER_HOST, testbed().DOCKER_HOST ?? b.docker.host);
      assert.equal(exported.RESTOREPROOF_IMAGE_POSTGRES, (b.docker as unknown as { images: Record<string, string> }).images.postgres);
    }
    if (b.kubernetes) assert.equal(exported.KUBECONFIG, b.kubernetes.kubeconfig);
    assert.match(stdout, /^# restoreproof test bed, from .*env\.json; use: eval "\$\(scripts\/testbed env\)"$/m);
  });

  it('is all the plexicus generator and its reference drill need', async function () {
    requireBackends(this, 'postgres', 'mongo', 'minio');
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-testbed-env-'));
    const backups = join(work, 'plexicus');
    const reports = join(work, 'reports');
    const { code, stdout, stderr } = await runCommand(
      '/bin/bash',
      [
        '-c',
        `eval "$(scripts/testbed env)" && node scripts/scenarios/plexicus.ts --out "$PLEXICUS_BACKUPS" && node bin/restoreproof.js run drills/examples/plexicus.yaml --report-dir "${reports}"`,
      ],
      { env: { ...bareEnv(), PLEXICUS_BACKUPS: backups } },
    );
    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(stderr, /plexicus scenario in /);
    assert.match(stderr, /PASSED: 6 passed, 0 failed/);
    assert.ok((await readdir(reports)).some((f) => f.endsWith('.json')));
  });
});
