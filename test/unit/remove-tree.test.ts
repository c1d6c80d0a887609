import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../src/util/remove-tree.ts';

describe('removeTree', () => {
  it('removes a nested tree, names starting with a dash included, and leaves its parent', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'restoreproof-test-remove-'));
    const tree = join(parent, '-data');
    for (let i = 0; i < 50; i++) {
      await mkdir(join(tree, 'bucket', `k${i % 5}`, `-obj${i}`), { recursive: true });
      await writeFile(join(tree, 'bucket', `k${i % 5}`, `-obj${i}`, 'xl.meta'), 'x');
    }
    await removeTree(tree);
    await assert.rejects(stat(tree), { code: 'ENOENT' });
    assert.ok((await stat(parent)).isDirectory());
    await removeTree(parent);
    await assert.rejects(stat(parent), { code: 'ENOENT' });
  });

  it('a large tree is removed by several rm at once, and a link in it is removed, never followed', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'restoreproof-test-remove-'));
    const outside = join(parent, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'kept'), 'not the run\'s');
    const tree = join(parent, 'data');
    for (let i = 0; i < 600; i++) {
      await mkdir(join(tree, 'bucket', `p${i % 80}`, `-obj${i}`), { recursive: true });
      await writeFile(join(tree, 'bucket', `p${i % 80}`, `-obj${i}`, 'xl.meta'), 'x');
    }
    await symlink(outside, join(tree, 'bucket', 'p1', 'link-to-outside'));
    await symlink(outside, join(tree, 'link-at-top'));
    await removeTree(tree);
    await assert.rejects(stat(tree), { code: 'ENOENT' });
    assert.equal(await readFile(join(outside, 'kept'), 'utf8'), 'not the run\'s');
    await removeTree(parent);
  });

  it('accepts a tree that is already gone', async () => {
    await removeTree(join(tmpdir(), `restoreproof-test-remove-missing-${process.pid}`));
  });
});
