import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMemory } from '../../src/runtimes/shared/memory.ts';
import { resolveAppImage, resolveImage } from '../../src/runtimes/shared/images.ts';
import { appRuntimeIssues } from '../../src/drill/validate-app.ts';
import type { StoreSpec } from '../../src/drill/types.ts';

describe('containers runtime: image choice and limits', () => {
  let dir: string;
  let map: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-images-'));
    map = join(dir, 'images.json');
    await writeFile(map, JSON.stringify({ app: 'mirror.example/node:24', postgres: 'mirror.example/postgres:{version}', 'postgres:15': 'mirror.example/pg15:15.8', redis: 'mirror.example/redis:7' }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const pg = (extra: Partial<StoreSpec> = {}) => ({ engine: 'postgres', restore: [{ artefact: 'x' }], ...extra }) as StoreSpec;

  it('defaults to the official images, with the store version as tag', () => {
    assert.deepEqual(resolveImage(pg({ version: '16' }), {}), { image: 'postgres:16', source: 'default' });
    assert.equal(resolveImage({ engine: 'mongodb', restore: [{ artefact: 'x' }] }, {}).image, 'mongo:latest');
    assert.equal(resolveImage({ engine: 's3', restore: [{ bucket: 'b' }] }, {}).image, 'minio/minio');
    assert.equal(resolveImage({ engine: 'redis', version: '7', restore: [{ artefact: 'x' }] }, {}).image, 'redis:7');
  });

  it('the drill wins over RESTOREPROOF_IMAGE_<ENGINE>, which wins over the image map', () => {
    const env = { RESTOREPROOF_IMAGE_POSTGRES: 'env/postgres:{version}', RESTOREPROOF_IMAGE_MAP: map };
    assert.deepEqual(resolveImage(pg({ version: '15', image: 'drill/pg:{version}' }), env), { image: 'drill/pg:15', source: 'the drill (image)' });
    assert.deepEqual(resolveImage(pg({ version: '15' }), env), { image: 'env/postgres:15', source: 'RESTOREPROOF_IMAGE_POSTGRES' });
    assert.equal(resolveImage(pg({ version: '15' }), { RESTOREPROOF_IMAGE_MAP: map }).image, 'mirror.example/pg15:15.8');
    assert.equal(resolveImage(pg({ version: '16' }), { RESTOREPROOF_IMAGE_MAP: map }).image, 'mirror.example/postgres:16');
    assert.equal(resolveImage({ engine: 'mongodb', restore: [{ artefact: 'x' }] }, { RESTOREPROOF_IMAGE_MAP: map }).image, 'mongo:latest');
  });

  it('a broken image map is a usage error naming the file', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '["postgres"]');
    assert.throws(() => resolveImage(pg(), { RESTOREPROOF_IMAGE_MAP: bad }), (err: Error & { exitCode?: number }) => err.exitCode === 2 && err.message.includes(bad));
  });

  it('the app image: spec.app.image, then RESTOREPROOF_IMAGE_APP, then the image map, then node:24-slim', () => {
    assert.deepEqual(resolveAppImage({}, {}), { image: 'node:24-slim', source: 'default' });
    assert.equal(resolveAppImage({}, { RESTOREPROOF_IMAGE_MAP: map }).image, 'mirror.example/node:24');
    assert.equal(resolveAppImage({}, { RESTOREPROOF_IMAGE_MAP: map, RESTOREPROOF_IMAGE_APP: 'local/app:1' }).image, 'local/app:1');
    assert.equal(resolveAppImage({ image: 'acme/app:2' }, { RESTOREPROOF_IMAGE_APP: 'local/app:1' }).image, 'acme/app:2');
  });

  it('what spec.app needs from each runtime', () => {
    assert.deepEqual(appRuntimeIssues('local', { command: ['node', 'app.ts'] }), []);
    assert.match(appRuntimeIssues('local', { image: 'acme/app:2' })[0]![1], /needs command \(image acme\/app:2 is for --runtime containers\)/);
    assert.deepEqual(appRuntimeIssues('containers', { image: 'acme/app:2' }), []);
    assert.deepEqual(appRuntimeIssues('containers', { command: ['node', 'server.ts'], cwd: 'app' }), []);
    assert.deepEqual(appRuntimeIssues('containers', { command: ['/usr/local/bin/app'] }), []);
    assert.deepEqual(appRuntimeIssues('containers', { image: 'acme/app:2', command: ['./bin/app'] }), []);
    const [path, message] = appRuntimeIssues('containers', { command: ['./bin/app'] })[0]!;
    assert.deepEqual(path, ['command', 0]);
    assert.match(message, /\.\/bin\/app \(a path relative to the drill on this machine\) does not exist; give spec\.app\.image/);
    assert.deepEqual(appRuntimeIssues('containers', { image: 'acme/app:2', migrate: { command: ['./migrate'] } }), []);
    const [argPath, argMessage] = appRuntimeIssues('containers', { command: ['node', '../../test/fixtures/app/server.ts'] })[0]!;
    assert.deepEqual(argPath, ['command', 1]);
    assert.match(argMessage, /only cwd is copied into the container .*set cwd to the app's directory/);
    assert.deepEqual(appRuntimeIssues('containers', { command: ['node', './server.ts'], cwd: '../app' }), []);
    assert.deepEqual(appRuntimeIssues('local', { command: ['node', '../../test/fixtures/app/server.ts'] }), []);
    assert.deepEqual(appRuntimeIssues('containers', { command: ['node', 'x.ts'], migrate: { command: ['./migrate'] } })[0]![0], ['migrate', 'command', 0]);
    // kubernetes runs images like containers: the same rules.
    assert.deepEqual(appRuntimeIssues('kubernetes', { command: ['node', 'server.ts'], cwd: 'app' }), []);
    assert.deepEqual(appRuntimeIssues('kubernetes', { command: ['./bin/app'] })[0]![0], ['command', 0]);
  });

  it('memory limits in the usual spellings', () => {
    assert.equal(parseMemory('512Mi'), 512 * 1024 ** 2);
    assert.equal(parseMemory('2G'), 2 * 1024 ** 3);
    assert.equal(parseMemory('1000'), 1000);
    assert.throws(() => parseMemory('lots'), /not a size/);
  });
});
