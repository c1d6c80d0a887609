// The digest of an artefact the restore streams comes from that read (no second read), a read
// stopped early falls back to reading the file, bytes that changed since verify fail the store
// naming the artefact, and a directory is walked once (by verify) whoever reads its files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import type { VerifiedArtefact } from '../../src/engines/types.ts';
import { ArtefactDigests } from '../../src/sources/digests.ts';
import { inspectLocalArtefact, openArtefact, readArtefactFiles } from '../../src/sources/local.ts';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const drain = (stream: NodeJS.ReadableStream) => pipeline(stream, new Writable({ write: (_chunk, _enc, done) => done() }));

describe('artefact digests taken from the restore\'s own read', () => {
  let work: string;
  const signal = new AbortController().signal;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-digests-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function verified(name: string, readByRestore: boolean, store = name): Promise<VerifiedArtefact> {
    const info = await inspectLocalArtefact(name, work, { hash: false, directory: true });
    return { store, step: 0, info, format: 'test', readByRestore };
  }

  it('a streamed gzip file: the digest of its compressed bytes comes from the restore\'s read, which is the only one', async () => {
    const bytes = gzipSync(Buffer.from('select 1;\n'.repeat(50_000)));
    await writeFile(join(work, 'dump.sql.gz'), bytes);
    const artefact = await verified('dump.sql.gz', true);
    const digests = new ArtefactDigests();
    digests.start(artefact, signal);
    let text = '';
    for await (const chunk of openArtefact(artefact.info)) text += (chunk as Buffer).toString();
    assert.equal(text.length, 500_000);
    // Gone after the restore read it: a second read for the digest would fail the store.
    await rm(join(work, 'dump.sql.gz'));
    await digests.forStore('dump.sql.gz');
    assert.equal(artefact.info.sha256, sha256(bytes));
    assert.deepEqual((await digests.settled()).map((d) => d.sha256), [sha256(bytes)]);
  });

  it('once the restore\'s read gave the digest, the end of the restore and of the run read nothing more', async () => {
    const bytes = Buffer.alloc(256 * 1024, 3);
    await writeFile(join(work, 'once.bin'), bytes);
    const artefact = await verified('once.bin', true);
    const digests = new ArtefactDigests();
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      digests.start(artefact, signal);
      await drain(openArtefact(artefact.info));
      // Removed, as a caller may once the run is over: a read started now would fail with no one listening.
      await rm(join(work, 'once.bin'));
      await digests.forStore('once.bin');
      assert.deepEqual((await digests.settled()).map((d) => d.sha256), [sha256(bytes)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  it('a streamed file the restore stopped reading early is read again for its digest', async () => {
    const bytes = Buffer.alloc(1024 * 1024, 7);
    await writeFile(join(work, 'early.bin'), bytes);
    const artefact = await verified('early.bin', true);
    const digests = new ArtefactDigests();
    digests.start(artefact, signal);
    for await (const _chunk of openArtefact(artefact.info)) break;
    await digests.forStore('early.bin');
    assert.equal(artefact.info.sha256, sha256(bytes));
  });

  it('a streamed file that grew after verify fails its store, naming the artefact', async () => {
    await writeFile(join(work, 'growing.sql'), 'select 1;\n');
    const artefact = await verified('growing.sql', true);
    const digests = new ArtefactDigests();
    digests.start(artefact, signal);
    await appendFile(join(work, 'growing.sql'), 'select 2;\n');
    await drain(openArtefact(artefact.info));
    await assert.rejects(digests.forStore('growing.sql'), /growing\.sql: changed while the run read it: 20 bytes read, 10 when it was verified/);
    assert.deepEqual((await digests.settled()).map((d) => d.sha256), ['']);
  });

  it('a mirror uploaded under a prefix: the digest comes from the upload\'s reads and the others\' hashing, the directory walked once', async () => {
    const mirror = join(work, 'mirror');
    await mkdir(join(mirror, 'a'), { recursive: true });
    await mkdir(join(mirror, 'b'));
    for (let i = 0; i < 40; i++) await writeFile(join(mirror, i % 2 ? 'a' : 'b', `${String(i).padStart(2, '0')}.txt`), `object ${i}\n`.repeat(i + 1));
    const expected = (await inspectLocalArtefact('mirror', work, { directory: true })).sha256;
    const artefact = await verified('mirror', true);
    const digests = new ArtefactDigests();
    digests.start(artefact, signal);
    // A file added after verify is not walked: the upload and the digest cover what verify listed.
    await writeFile(join(mirror, 'a', 'late.txt'), 'late\n');
    const uploaded: string[] = [];
    for await (const file of readArtefactFiles(artefact.info, (f) => f.relative.startsWith('a/'), signal)) {
      // Both ways a bucket restore reads an object: streamed (a large one), and whole (a small one).
      if (uploaded.length % 2) await file.read(async (stream) => drain(stream));
      else {
        const { content, sha256 } = await file.readAll();
        assert.equal(sha256, createHash('sha256').update(content).digest('hex'));
        assert.equal(content.length, file.size);
      }
      uploaded.push(file.relative);
    }
    assert.equal(uploaded.length, 20);
    assert.ok(!uploaded.includes('a/late.txt'));
    await rm(mirror, { recursive: true });
    await digests.forStore('mirror');
    assert.equal(artefact.info.sha256, expected);
  });

  it('a mirror file that grew after verify is uploaded whole, and the store fails naming the artefact', async () => {
    const mirror = join(work, 'grown-mirror');
    await mkdir(mirror);
    for (let i = 0; i < 4; i++) await writeFile(join(mirror, `${i}.txt`), `object ${i}\n`);
    const artefact = await verified('grown-mirror', true);
    const digests = new ArtefactDigests();
    digests.start(artefact, signal);
    await appendFile(join(mirror, '2.txt'), 'and more after verify\n');
    const read = new Map<string, string>();
    for await (const file of readArtefactFiles(artefact.info, () => true, signal)) read.set(file.relative, (await file.readAll()).content.toString());
    assert.equal(read.get('2.txt'), 'object 2\nand more after verify\n', 'read to its end, not cut at the listed size');
    assert.equal(read.get('1.txt'), 'object 1\n');
    await assert.rejects(digests.forStore('grown-mirror'), { message: 'grown-mirror: changed while the run read it: 58 bytes read, 36 when it was verified' });
  });

  it('a directory the tool reads itself: its background digest reads the files verify listed, without walking again', async () => {
    const dump = join(work, 'dumpdir');
    await mkdir(join(dump, 'shop'), { recursive: true });
    await writeFile(join(dump, 'shop', 'orders.bson'), Buffer.alloc(4096, 1));
    await writeFile(join(dump, 'shop', 'orders.metadata.json'), '{}');
    const expected = (await inspectLocalArtefact('dumpdir', work, { directory: true })).sha256;
    const artefact = await verified('dumpdir', false);
    await writeFile(join(dump, 'shop', 'zz-late.bson'), 'late');
    const digests = new ArtefactDigests();
    digests.start(artefact, signal);
    await digests.forStore('dumpdir');
    assert.equal(artefact.info.sha256, expected);
  });
});
