// The harness image (deploy/Dockerfile) built from the packed tarball by deploy/build-image.sh on
// the test bed's Docker engine, FROM the test bed's rootfs (no registry), then the demo drill run
// in it on the containers runtime: the engine's socket mounted, the host's network (the stores
// are reached on the run's network from the engine's host), as docs/ci.md has users run it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, requireBackends, testbed } from '../support/backends.ts';
import { assertValidReport } from '../support/fixtures.ts';
import { command, packedTarball, placeDemoDrill, succeed, userEnv } from '../support/package.ts';

describe('container image: built from the packed tarball, runs the demo drill', function () {
  this.timeout(1_800_000);
  const tag = `restoreproof-test/restoreproof:${randomBytes(4).toString('hex')}`;
  let env: Record<string, string>;
  let images: Record<string, string>;
  let work: string;
  let built = false;
  const docker = (args: string[]) => command('docker', args, { cwd: work, env });

  before(async function () {
    requireBackends(this, 'docker', 'postgres');
    const backend = testbed().backends.docker as { host: string; images: Record<string, string> };
    images = backend.images;
    if (!images.base) throw new Error('the test bed has no base image (docker.images.base): run scripts/testbed up docker');
    env = userEnv({ DOCKER_HOST: backend.host });
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-image-'));
    const tarball = await packedTarball();
    await succeed(join(repoRoot, 'deploy/build-image.sh'), ['--tarball', tarball.file, '--base', images.base, '-t', tag], { cwd: work, env });
    built = true;
  });
  after(async () => {
    if (built) await docker(['image', 'rm', '-f', tag]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs restoreproof on its own Node 24 as an unprivileged user, with the package from the tarball only', async () => {
    const help = await docker(['run', '--rm', tag, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^restoreproof \d+\.\d+\.\d+: prove that backups restore/);
    const inside = await docker(['run', '--rm', '--entrypoint', 'sh', tag, '-c', 'node --version; id -u; ls /opt/restoreproof/node_modules/restoreproof']);
    assert.equal(inside.code, 0, inside.stderr);
    const [node, uid, ...files] = inside.stdout.trim().split('\n');
    assert.match(node!, /^v24\./);
    assert.equal(uid, '10001');
    assert.deepEqual(files.filter((f) => !['dist', 'schemas', 'drills', 'README.md', 'LICENSE', 'package.json'].includes(f)), [], 'the image carries more than the package');
  });

  it('runs the demo drill on the containers runtime through the mounted Docker socket, evidence signed and verified', async () => {
    const backups = await placeDemoDrill(work, join(repoRoot, 'drills/demo.yaml'));
    await mkdir(join(work, 'reports'));
    // The harness runs as uid 10001: it reads the drill and writes the key and the reports.
    for (const dir of [work, join(work, 'drills'), join(work, 'drills/backups')]) chmodSync(dir, 0o755);
    for (const dir of [backups, join(work, 'reports')]) chmodSync(dir, 0o777);
    const socket = new URL(env.DOCKER_HOST!).pathname;
    const harness = ['run', '--rm', '--network', 'host', '--group-add', String(statSync(socket).gid), '-v', `${socket}:/var/run/docker.sock`, '-v', `${work}:/work`, '-w', '/work',
      '-e', 'DOCKER_HOST=unix:///var/run/docker.sock', '-e', `RESTOREPROOF_IMAGE_POSTGRES=${images.postgres}`, tag];
    const keygen = await docker([...harness, 'keygen', '--out', 'drills/backups/demo/signing.key']);
    assert.equal(keygen.code, 0, keygen.stdout + keygen.stderr);

    const run = await docker([...harness, 'run', 'drills/demo.yaml', '--runtime', 'containers', '--report-dir', 'reports']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const reportFile = (await readdir(join(work, 'reports'))).find((f) => /^\d{8}T\d{6}Z-[0-9a-f]+\.json$/.test(f));
    assert.ok(reportFile, 'no report written');
    const report = JSON.parse(await readFile(join(work, 'reports', reportFile), 'utf8'));
    assertValidReport(report);
    assert.equal(report.status, 'passed');
    assert.equal(report.runtime, 'containers');
    assert.ok(report.checks.length >= 7 && report.checks.every((c: { status: string }) => c.status === 'passed'), JSON.stringify(report.checks.map((c: { id: string; status: string }) => [c.id, c.status])));
    // Nothing of the run is left on the engine.
    const left = await docker(['ps', '-a', '--filter', `label=restoreproof.run=${report.runId}`, '--format', '{{.ID}}']);
    assert.equal(left.stdout.trim(), '', 'containers of the run left behind');
    const verify = await docker([...harness, 'verify', join('reports', reportFile.replace(/\.json$/, '.dsse.json')), '--key', 'drills/backups/demo/signing.key.pub']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^VERIFIED$/m);
  });
});
