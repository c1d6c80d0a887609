import assert from 'node:assert/strict';
import { mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
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

  it('accepts a tree that is already gone', async () => {
    await removeTree(join(tmpdir(), `restoreproof-test-remove-missing-${process.pid}`));
  });
});
