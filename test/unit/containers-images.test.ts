import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMemory } from '../../src/runtimes/containers/index.ts';
import { resolveImage } from '../../src/runtimes/containers/images.ts';
import type { StoreSpec } from '../../src/spec/types.ts';

describe('containers runtime: image choice and limits', () => {
  let dir: string;
  let map: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-images-'));
    map = join(dir, 'images.json');
    await writeFile(map, JSON.stringify({ postgres: 'mirror.example/postgres:{version}', 'postgres:15': 'mirror.example/pg15:15.8', redis: 'mirror.example/redis:7' }));
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

  it('memory limits in the usual spellings', () => {
    assert.equal(parseMemory('512Mi'), 512 * 1024 ** 2);
    assert.equal(parseMemory('2G'), 2 * 1024 ** 3);
    assert.equal(parseMemory('1000'), 1000);
    assert.throws(() => parseMemory('lots'), /not a size/);
  });
});
