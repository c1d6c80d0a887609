// The tar stream that stages artefacts into containers and pods: an artefact that is a symlink
// (every file of a Kubernetes ConfigMap or Secret volume is one) goes in with its bytes; it was
// left out, and pg_restore then found no file.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract, pack } from 'tar-stream';
import { feedTar } from '../../src/runtimes/shared/tar.ts';

async function entriesOf(path: string, name: string): Promise<Record<string, string>> {
  const archive = pack();
  const out = extract();
  const entries: Record<string, string> = {};
  out.on('entry', (header, stream, next) => {
    let body = '';
    stream.on('data', (d: unknown) => (body += String(d)));
    stream.on('end', () => {
      entries[header.name] = header.type === 'directory' ? '(dir)' : body;
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => out.on('finish', () => resolve()).on('error', reject));
  archive.pipe(out);
  await feedTar(archive, path, name);
  await done;
  return entries;
}

describe('staging tar: symlinked artefacts', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-stage-'));
    // The layout of a ConfigMap volume: ..data -> ..<timestamp>/, each key a link through ..data.
    await mkdir(join(dir, 'volume/..2026_11_29'), { recursive: true });
    await writeFile(join(dir, 'volume/..2026_11_29/shop.dump'), 'PGDMP custom');
    await symlink('..2026_11_29', join(dir, 'volume/..data'));
    await symlink('..data/shop.dump', join(dir, 'volume/shop.dump'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an artefact that is a symlink is staged with the bytes it points at', async () => {
    assert.deepEqual(await entriesOf(join(dir, 'volume/shop.dump'), 'restoreproof/1/shop.dump'), { restoreproof: '(dir)', 'restoreproof/1': '(dir)', 'restoreproof/1/shop.dump': 'PGDMP custom' });
  });

  it('in a directory, links to files are followed and links to directories left out (no loops, no duplicates)', async () => {
    const entries = await entriesOf(join(dir, 'volume'), 'stage/volume');
    assert.equal(entries['stage/volume/shop.dump'], 'PGDMP custom');
    assert.equal(entries['stage/volume/..data'], undefined);
    assert.equal(entries['stage/volume/..2026_11_29/shop.dump'], 'PGDMP custom');
  });
});
