// The offline inventory of a bucket mirror (the `mc mirror` layout), and the checksum the
// mongodump archive reader verifies.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtefactError } from '../../src/errors.ts';
import { inventoryBucketMirror } from '../../src/inventory/bucket.ts';
import { Crc64 } from '../../src/inventory/crc64.ts';
import { inventory, type BucketMirrorInventory } from '../../src/inventory/index.ts';
import { runCli } from '../support/fixtures.ts';

describe('inventory: bucket mirrors', function () {
  let root: string;
  let mirror: string;

  async function file(rel: string, size: number, mtime?: Date): Promise<void> {
    const path = join(mirror, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, Buffer.alloc(size, 7));
    if (mtime) await utimes(path, mtime, mtime);
  }

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), 'restoreproof-test-inventory-bucket-'));
    mirror = join(root, 'mirror');
    await file('a.txt', 3, new Date('2026-01-01T00:00:00Z'));
    await file('b.bin', 10);
    await file('images/x.png', 100);
    await file('images/2026/03/y.png', 50, new Date('2026-03-01T00:00:00Z'));
    await file('docs/readme.md', 7);
    await file('docs/empty-object', 0);
    await mkdir(join(mirror, 'nothing-here'));
    await writeFile(join(root, 'outside.txt'), 'secret');
  });

  afterEach(async function () {
    await rm(root, { recursive: true, force: true });
  });

  async function refused(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(err instanceof ArtefactError, String(err));
      assert.match(err.message, pattern);
      return true;
    });
  }

  it('counts objects and bytes in total and per top-level prefix', async function () {
    await utimes(join(mirror, 'b.bin'), new Date('2026-02-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'));
    for (const rel of ['images/x.png', 'docs/readme.md', 'docs/empty-object']) await utimes(join(mirror, rel), new Date('2026-02-02T00:00:00Z'), new Date('2026-02-02T00:00:00Z'));
    const inv = await inventoryBucketMirror(mirror);
    assert.deepEqual(inv, {
      kind: 'bucket-mirror',
      path: mirror,
      objects: 6,
      bytes: 170,
      prefixes: [
        { prefix: '', objects: 2, bytes: 13 },
        { prefix: 'docs/', objects: 2, bytes: 7 },
        { prefix: 'images/', objects: 2, bytes: 150 },
      ],
      oldestModifiedAt: '2026-01-01T00:00:00.000Z',
      newestModifiedAt: '2026-03-01T00:00:00.000Z',
    } satisfies BucketMirrorInventory);
  });

  it('an empty mirror has no objects', async function () {
    const empty = join(root, 'empty');
    await mkdir(empty);
    assert.deepEqual(await inventoryBucketMirror(empty), { kind: 'bucket-mirror', path: empty, objects: 0, bytes: 0, prefixes: [] });
  });

  it('follows symlinks that stay inside the root', async function () {
    await symlink('../a.txt', join(mirror, 'images', 'alias.txt'));
    await symlink('images/2026', join(mirror, 'by-year'));
    const inv = await inventoryBucketMirror(mirror);
    assert.equal(inv.objects, 8);
    assert.deepEqual(inv.prefixes.find((p) => p.prefix === 'by-year/'), { prefix: 'by-year/', objects: 1, bytes: 50 });
    assert.deepEqual(inv.prefixes.find((p) => p.prefix === 'images/'), { prefix: 'images/', objects: 3, bytes: 153 });
  });

  it('refuses a symlink that escapes the root', async function () {
    await symlink('../../outside.txt', join(mirror, 'images', 'leak.txt'));
    await refused(inventoryBucketMirror(mirror), /object "images\/leak\.txt" is a symlink to .*outside\.txt, which escapes the mirror root/);
  });

  it('refuses a directory symlink that escapes the root, a dangling one and a loop', async function () {
    await symlink(root, join(mirror, 'up'));
    await refused(inventoryBucketMirror(mirror), /object "up" is a symlink to .*, which escapes the mirror root/);
    await rm(join(mirror, 'up'));
    await symlink('missing-target', join(mirror, 'docs', 'gone'));
    await refused(inventoryBucketMirror(mirror), /object "docs\/gone" is a dangling symlink/);
    await rm(join(mirror, 'docs', 'gone'));
    await symlink('..', join(mirror, 'images', 'loop'));
    await refused(inventoryBucketMirror(mirror), /"images\/loop" is a symlink loop/);
  });

  it('inventory() reads a directory as a bucket mirror; a missing one is an artefact error', async function () {
    const inv = await inventory(mirror);
    assert.equal(inv.kind, 'bucket-mirror');
    await refused(inventoryBucketMirror(join(root, 'nope')), /bucket mirror not found/);
  });

  it('restoreproof inventory <dir> --json, and exit 1 for a mirror escaping its root', async function () {
    const ok = await runCli(['inventory', mirror, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), await inventoryBucketMirror(mirror));
    const text = await runCli(['inventory', mirror]);
    assert.match(text.stdout, /images\/\s+2\s+150 B/);
    assert.match(text.stdout, /6 objects, 170 B/);
    await symlink('../outside.txt', join(mirror, 'leak'));
    const bad = await runCli(['inventory', mirror]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error E_ARTEFACT: .*"leak" is a symlink to .*escapes the mirror root/);
  });
});

describe('inventory: CRC-64/ECMA as mongodump computes it', function () {
  it('matches the check value of CRC-64/XZ (Go hash/crc64 with the ECMA table)', function () {
    assert.equal(new Crc64().update(Buffer.from('123456789')).digest(), 0x995dc9bbdf1939fan);
    assert.equal(new Crc64().digest(), 0n);
  });

  it('is the same computed piecewise', function () {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    const whole = new Crc64().update(data).digest();
    const pieces = new Crc64();
    for (let i = 0; i < data.length; i += 5) pieces.update(data.subarray(i, i + 5));
    assert.equal(pieces.digest(), whole);
    assert.equal(whole, 0x5b5eb8c2e54aa1c4n);
  });
});
