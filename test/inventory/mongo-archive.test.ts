// The offline inventory of mongodump archives, against archives written by the real mongodump
// from databases seeded in the test bed's MongoDB-wire server (FerretDB): gzip and plain, several
// databases, collections dumped in parallel so that their blocks interleave, an empty collection.
// Damaged copies (truncated at several points, a flipped byte) must give an ArtefactError that
// names the offset and the namespace.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MongoClient } from 'mongodb';
import { ArtefactError } from '../../src/errors.ts';
import { inventory, renderInventory } from '../../src/inventory/index.ts';
import { inventoryMongoArchive, scanMongoArchive, type MongoArchiveInventory } from '../../src/inventory/mongo-archive.ts';
import { ByteCursor } from '../../src/inventory/stream.ts';
import { LocalServer, freePort } from '../../src/runtimes/local/server.ts';
import { runTool } from '../../src/util/process.ts';
import { requireBackends, testbed } from '../support/backends.ts';
import { runCli } from '../support/fixtures.ts';

/** db → collection → document count, as the database held them when dumped. */
type Counts = Record<string, Record<string, number>>;

/** Every collection of the inventory as `db.collection` → documents. */
function countsOf(inv: MongoArchiveInventory): Counts {
  return Object.fromEntries(inv.databases.map((d) => [d.name, Object.fromEntries(d.collections.map((c) => [c.name, c.documents]))]));
}

async function rejectsWithArtefactError(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ArtefactError, `expected an ArtefactError, got ${(err as Error).stack ?? String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return err.message;
  }
  assert.fail('expected an ArtefactError, but the inventory succeeded');
}

describe('inventory: mongodump archives written by the real mongodump', function () {
  this.timeout(300_000);
  let server: LocalServer | undefined;
  let client: MongoClient | undefined;
  let dir: string;
  let mongodump: string;
  let uri: string;
  const archives = { all: '', allGz: '', shop: '', shopGz: '' };
  const expected: Counts = {};

  async function dump(file: string, ...args: string[]): Promise<string> {
    const result = await runTool({ command: mongodump, args: [`--uri=${uri}`, `--archive=${file}`, ...args] });
    if (result.exitCode !== 0) throw new Error(`mongodump ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
    return file;
  }

  before(async function () {
    requireBackends(this, 'mongo');
    const mongo = testbed().backends.mongo!;
    mongodump = String(mongo.mongodump);
    server = await LocalServer.create({ runId: `inventory-test-${process.pid}`, storeName: 'mongo' });
    dir = server.dir;
    await mkdir(join(dir, 'db'));
    await mkdir(join(dir, 'state'));
    const port = await freePort();
    uri = `mongodb://127.0.0.1:${port}/`;
    server.start(String(mongo.server), [
      `--listen-addr=127.0.0.1:${port}`, '--handler=sqlite', `--sqlite-url=file:${join(dir, 'db')}/`,
      `--state-dir=${join(dir, 'state')}`, '--telemetry=disable', '--debug-addr=-', '--log-level=warn',
    ]);
    client = await server.waitReady('ferretdb', async () => {
      const c = new MongoClient(uri, { directConnection: true, serverSelectionTimeoutMS: 2000 });
      try {
        await c.connect();
        await c.db('admin').command({ ping: 1 });
        return c;
      } catch (err) {
        await c.close(true).catch(() => {});
        throw err;
      }
    }, new AbortController().signal);

    const shop = client.db('shop');
    await shop.collection<{ _id: number; name: string; email: string }>('customers').insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: i, name: `c${i}`, email: `c${i}@example.com` })));
    await shop.collection('orders').insertMany(Array.from({ length: 300 }, (_, i) => ({ n: i, customer: i % 40, total: i * 1.5, tags: ['a', `t${i % 7}`] })));
    await shop.collection('orders').createIndex({ customer: 1 });
    await shop.createCollection('empty');
    const crm = client.db('crm');
    await crm.collection('contacts').insertMany(Array.from({ length: 25 }, (_, i) => ({ i, nested: { deep: { value: i } } })));
    await crm.createCollection('archived');
    // mongodump buffers up to 16 MiB of one collection before writing a block, so collections
    // only interleave when several larger than that are dumped at once.
    const pad = 'p'.repeat(16_000);
    const bulk = client.db('bulk');
    for (const name of ['big1', 'big2', 'big3', 'big4']) {
      for (let batch = 0; batch < 6; batch++) {
        await bulk.collection(name).insertMany(Array.from({ length: 200 }, (_, i) => ({ i: batch * 200 + i, name, pad })));
      }
    }
    for (const db of ['shop', 'crm', 'bulk']) {
      expected[db] = {};
      for (const { name } of await client.db(db).listCollections({}, { nameOnly: true }).toArray()) {
        expected[db][name] = await client.db(db).collection(name).countDocuments();
      }
    }

    archives.all = await dump(join(dir, 'all.archive'), '--numParallelCollections=4');
    archives.allGz = await dump(join(dir, 'all.archive.gz'), '--gzip', '--numParallelCollections=4');
    archives.shop = await dump(join(dir, 'shop.archive'), '--db=shop');
    archives.shopGz = await dump(join(dir, 'shop.archive.gz'), '--db=shop', '--gzip');
  });

  after(async function () {
    await client?.close(true).catch(() => {});
    await server?.stop();
  });

  it('lists every database and collection with the document counts the database held', async function () {
    const inv = await inventoryMongoArchive(archives.all);
    assert.equal(inv.kind, 'mongodump-archive');
    assert.equal(inv.compressed, false);
    assert.equal(inv.formatVersion, '0.1');
    assert.equal(inv.toolVersion, String(testbed().backends.mongo!.toolsVersion));
    assert.match(inv.serverVersion, /^\d+\.\d+/);
    assert.equal(inv.concurrentCollections, 4);
    assert.deepEqual(inv.databases.map((d) => d.name), ['bulk', 'crm', 'shop']);
    assert.deepEqual(countsOf(inv), expected);
    assert.equal(expected.shop!.orders, 300);
    assert.equal(expected.bulk!.big1, 1200);

    const shop = inv.databases.find((d) => d.name === 'shop')!;
    const empty = shop.collections.find((c) => c.name === 'empty')!;
    assert.deepEqual({ documents: empty.documents, bytes: empty.bytes }, { documents: 0, bytes: 0 }, 'the empty collection is listed with 0 documents');
    assert.equal(shop.collections.find((c) => c.name === 'orders')!.indexes, 2, '_id and customer');
    assert.equal(shop.collections.find((c) => c.name === 'customers')!.indexes, 1);
    for (const c of inv.databases.flatMap((d) => d.collections)) {
      if (c.documents > 0) assert.ok(c.bytes >= c.documents * 5, `${c.name}: bytes counted`);
      assert.equal(c.type, undefined);
    }
    const all = inv.databases.flatMap((d) => d.collections);
    assert.deepEqual(inv.totals, {
      databases: 3,
      collections: all.length,
      documents: Object.values(expected).flatMap((d) => Object.values(d)).reduce((a, b) => a + b, 0),
      bytes: all.reduce((n, c) => n + c.bytes, 0),
      segments: all.reduce((n, c) => n + c.segments, 0),
    });
  });

  it('sees the blocks of collections dumped in parallel interleave', async function () {
    const inv = await inventoryMongoArchive(archives.all);
    assert.equal(inv.interleaved, true);
    const bulk = inv.databases.find((d) => d.name === 'bulk')!;
    // A collection continues in the same block while no other one is written in between, so the
    // block count per collection varies from run to run; some must be split.
    const split = bulk.collections.filter((c) => c.segments >= 2);
    assert.ok(split.length >= 1, `blocks per collection: ${bulk.collections.map((c) => `${c.name}=${c.segments}`).join(', ')}`);
    assert.ok(inv.totals.segments > inv.totals.collections);
    const small = await inventoryMongoArchive(archives.shop);
    assert.equal(small.interleaved, false, 'collections under 16 MiB are written in one block each');
  });

  it('reads a gzip archive as it streams, with the same inventory as the plain one', async function () {
    const plain = await inventoryMongoArchive(archives.all);
    const gz = await inventoryMongoArchive(archives.allGz);
    assert.equal(gz.compressed, true);
    assert.ok((await stat(archives.allGz)).size < (await stat(archives.all)).size / 4);
    assert.deepEqual(countsOf(gz), expected);
    const shape = (inv: MongoArchiveInventory) => inv.databases.map((d) => ({ name: d.name, collections: d.collections.map(({ segments: _, ...c }) => c) }));
    assert.deepEqual(shape(gz), shape(plain));
    assert.equal(gz.toolVersion, plain.toolVersion);
  });

  it('gives the same result however the stream is chunked', async function () {
    const bytes = await readFile(archives.shop);
    const reference = await inventoryMongoArchive(archives.shop);
    for (const sizes of [[1], [3, 7, 1, 4096], [5, 65_536, 2, 17]]) {
      const pieces: Buffer[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const size = sizes[i % sizes.length]!;
        pieces.push(bytes.subarray(at, at + size));
        at += size;
      }
      const inv = await scanMongoArchive(new ByteCursor(Readable.from(pieces)), { path: archives.shop, compressed: false });
      assert.deepEqual(inv, reference, `chunk sizes ${sizes.join(',')}`);
    }
  });

  it('streams: however large the archive, it never holds more than a header document at a time', async function () {
    class MeasuredCursor extends ByteCursor {
      largestRead = 0;
      override async read(n: number): Promise<Buffer> {
        this.largestRead = Math.max(this.largestRead, n);
        return super.read(n);
      }
    }
    const size = (await stat(archives.all)).size;
    assert.ok(size > 64 * 1024 * 1024, `the archive is ${size} bytes`);
    const cursor = new MeasuredCursor(createReadStream(archives.all));
    const inv = await scanMongoArchive(cursor, { path: archives.all, compressed: false });
    assert.deepEqual(countsOf(inv), expected);
    // Documents are skipped piecewise through the read chunks; only headers and metadata are copied.
    assert.ok(cursor.largestRead < 4096, `largest single read: ${cursor.largestRead} bytes`);
  });

  describe('damaged archives', function () {
    let bytes: Buffer;
    let damaged: string;
    before(async function () {
      bytes = await readFile(archives.shop);
      damaged = join(dir, 'damaged');
      await mkdir(damaged, { recursive: true });
    });

    async function variant(name: string, content: Buffer): Promise<string> {
      const path = join(damaged, name);
      await writeFile(path, content);
      return path;
    }

    /** Where the end-of-collection header of the last namespace starts. */
    function lastEofHeader(): number {
      const eof = bytes.lastIndexOf(Buffer.from('\x08EOF\x00\x01', 'latin1'));
      const doc = bytes.lastIndexOf(Buffer.from('\x02db\x00', 'latin1'), eof);
      assert.ok(eof > 0 && doc > 4);
      return doc - 4;
    }

    it('a truncated archive names the offset and what was being read, wherever it was cut', async function () {
      const cuts: [number, RegExp][] = [
        [60, /in the archive header/],
        [200, /in the collection metadata/],
        [Math.floor(bytes.length * 0.3), /in shop\.(customers|orders)/],
        [Math.floor(bytes.length * 0.6), /in shop\.(customers|orders)/],
        [Math.floor(bytes.length * 0.9), /in shop\.(customers|orders)/],
        [bytes.length - 4, /shop\.\w+/],
        [bytes.length - 1, /shop\.\w+/],
      ];
      for (const [cut, where] of cuts) {
        const path = await variant(`cut-${cut}.archive`, bytes.subarray(0, cut));
        await rejectsWithArtefactError(inventoryMongoArchive(path), /truncated mongodump archive/, new RegExp(`ends at offset ${cut}\\b`), where);
      }
    });

    it('an archive cut exactly between blocks is still incomplete', async function () {
      const cut = lastEofHeader();
      const path = await variant('cut-at-block.archive', bytes.subarray(0, cut));
      await rejectsWithArtefactError(inventoryMongoArchive(path), new RegExp(`ends at offset ${cut}\\b`), /shop\.\w+ has \d+ documents so far but no end-of-collection header/);
    });

    it('a truncated gzip archive names the decompressed offset and the namespace', async function () {
      const gz = await readFile(archives.shopGz);
      for (const fraction of [0.4, 0.8]) {
        const path = await variant(`cut-${fraction}.archive.gz`, gz.subarray(0, Math.floor(gz.length * fraction)));
        await rejectsWithArtefactError(inventoryMongoArchive(path), /offset \d+ \(decompressed\)/, /shop\.\w+/);
      }
      const noTrailer = await variant('no-trailer.archive.gz', gz.subarray(0, gz.length - 4));
      await rejectsWithArtefactError(inventoryMongoArchive(noTrailer), /gzip stream is corrupt or truncated/, /offset \d+ \(decompressed\)/);
    });

    it('a flipped byte in the data is caught (CRC or structure) with the offset and the namespace', async function () {
      for (const fraction of [0.35, 0.5, 0.75, 0.95]) {
        const at = Math.floor(bytes.length * fraction);
        const copy = Buffer.from(bytes);
        copy[at] = copy[at]! ^ 0x10;
        const path = await variant(`flip-${fraction}.archive`, copy);
        // A flip in a length prefix reads as a document running past the end of the file.
        await rejectsWithArtefactError(inventoryMongoArchive(path), /(corrupt mongodump archive at|truncated mongodump archive: it ends at) offset \d+/, /shop\.\w+/);
      }
      // A flipped byte inside a document's field value changes no length: only the CRC sees it.
      const value = bytes.indexOf(Buffer.from('c17@example.com', 'latin1'));
      assert.ok(value > 0);
      const copy = Buffer.from(bytes);
      copy[value] = 'x'.charCodeAt(0);
      const path = await variant('flip-value.archive', copy);
      await rejectsWithArtefactError(inventoryMongoArchive(path), /in shop\.customers: CRC mismatch/, /a document between offsets \d+ and \d+ was altered/);
    });

    it('a file that is not a mongodump archive is refused by its magic number', async function () {
      const text = await variant('notes.txt', Buffer.from('these are not the bytes you are looking for\n'));
      await rejectsWithArtefactError(inventoryMongoArchive(text), /not a mongodump archive \(magic 74686573 at offset 0; expected 6de29981\)/);
      const gzText = await variant('notes.txt.gz', gzipSync('still not an archive\n'));
      await rejectsWithArtefactError(inventoryMongoArchive(gzText), /not a mongodump archive \(magic 7374696c at offset 0 after gunzip/);
      await rejectsWithArtefactError(inventory(text), /not a mongodump archive, a pg_dump custom file or a directory \(magic 74686573 at offset 0\)/);
      await rejectsWithArtefactError(inventoryMongoArchive(join(damaged, 'missing.archive')), /not found/);
    });
  });

  describe('restoreproof inventory', function () {
    it('prints the inventory as JSON', async function () {
      const result = await runCli(['inventory', archives.allGz, '--json']);
      assert.equal(result.code, 0, result.stderr);
      const inv = JSON.parse(result.stdout) as MongoArchiveInventory;
      assert.equal(inv.kind, 'mongodump-archive');
      assert.equal(inv.compressed, true);
      assert.deepEqual(countsOf(inv), expected);
    });

    it('prints a table for people', async function () {
      const result = await runCli(['inventory', archives.shop]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, renderInventory(await inventory(archives.shop)));
      assert.match(result.stdout, /mongodump archive, format 0\.1/);
      assert.match(result.stdout, /shop\.orders\s+300\s/);
      assert.match(result.stdout, /shop\.empty\s+0\s/);
    });

    it('a damaged archive exits 1 with a one-line error naming the offset and namespace, no stack trace', async function () {
      const bytes = await readFile(archives.shop);
      const path = join(dir, 'cli-truncated.archive');
      await writeFile(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const result = await runCli(['inventory', path, '--json']);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, /^error E_ARTEFACT: .*truncated mongodump archive: it ends at offset \d+ in shop\.\w+/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    });

    it('a wrong format exits 1, a missing artefact too, and no artefact is a usage error', async function () {
      const notes = join(dir, 'notes.txt');
      await writeFile(notes, 'plain text\n');
      const wrong = await runCli(['inventory', notes]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /error E_ARTEFACT: .*not a mongodump archive/);
      const missing = await runCli(['inventory', join(dir, 'missing.archive')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /error E_ARTEFACT: .*not found/);
      const usage = await runCli(['inventory']);
      assert.equal(usage.code, 2);
    });
  });
});
