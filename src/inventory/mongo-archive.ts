// Offline inventory of a `mongodump --archive` file (plain or gzip), read as a stream.
//
// Format (mongo-tools common/archive/spec.md): a little-endian magic number 0x8199e26d; a header
// BSON document {concurrent_collections, version, server_version, tool_version}; one metadata
// document per collection {db, collection, metadata (canonical extended JSON), size, type}; the
// 0xFFFFFFFF terminator; then blocks until the end, each a namespace header {db, collection, EOF,
// CRC}, zero or more documents of that namespace and the terminator. Blocks of different
// collections interleave when they were dumped in parallel. The EOF header of a namespace carries
// the CRC-64/ECMA of all its documents, which is verified here: a flipped byte inside a document
// changes no length, and only the checksum sees it.
//
// Documents are counted by their int32 length prefix and skipped, never deserialized; memory stays
// bounded by one read chunk plus the largest header or metadata document.
import { deserialize } from 'bson';
import { ArtefactError } from '../errors.ts';
import { Crc64, formatCrc } from './crc64.ts';
import { ByteCursor, EndOfInput, StreamParser, openArtefactStream } from './stream.ts';

export const mongoArchiveMagic = 0x8199e26d;
const terminator = 0xffffffff;
const minBsonSize = 5;
/** mongo-tools' db.MaxBSONSize: the archive reader refuses anything larger. */
const maxBsonSize = 16 * 1024 * 1024;
const timeseriesBucketPrefix = 'system.buckets.';

export interface MongoCollectionInventory {
  name: string;
  documents: number;
  /** BSON bytes of its documents in the archive. */
  bytes: number;
  /** Index definitions in the collection's metadata. */
  indexes: number;
  /** `view` or `timeseries`; absent for an ordinary collection. */
  type?: string;
  /** Data blocks of this collection in the archive: more than one means it was interleaved with others. */
  segments: number;
}

export interface MongoDatabaseInventory {
  name: string;
  collections: MongoCollectionInventory[];
}

export interface MongoArchiveInventory {
  kind: 'mongodump-archive';
  path: string;
  compressed: boolean;
  formatVersion: string;
  serverVersion: string;
  toolVersion: string;
  concurrentCollections: number;
  databases: MongoDatabaseInventory[];
  totals: { databases: number; collections: number; documents: number; bytes: number; segments: number };
  /** True when the data blocks of some collection were separated by blocks of another. */
  interleaved: boolean;
}

interface Namespace {
  db: string;
  collection: string;
  inPrelude: boolean;
  type: string;
  indexes: number;
  documents: number;
  bytes: number;
  segments: number;
  opened: boolean;
  closed: boolean;
  crc: Crc64;
  /** Where its first data block starts. */
  firstBlock: number | undefined;
}

const hint = 'the archive is damaged or incomplete: take a new mongodump, or restore from an earlier backup';

/** Reads a mongodump archive (gzip or not) and lists its databases, collections and document counts. */
export async function inventoryMongoArchive(path: string): Promise<MongoArchiveInventory> {
  const opened = await openArtefactStream(path);
  try {
    return await scanMongoArchive(opened.cursor, { path, compressed: opened.compressed });
  } finally {
    await opened.cursor.close();
  }
}

/** The parser proper, over any byte stream (exposed so tests can feed it arbitrary chunkings). */
export async function scanMongoArchive(cursor: ByteCursor, source: { path: string; compressed: boolean }): Promise<MongoArchiveInventory> {
  const scanner = new ArchiveScanner(cursor, source);
  try {
    return await scanner.scan();
  } catch (err) {
    throw scanner.explain(err);
  }
}

class ArchiveScanner extends StreamParser {
  readonly #namespaces = new Map<string, Namespace>();
  #interleaved = false;
  #header = { formatVersion: '', serverVersion: '', toolVersion: '', concurrentCollections: 0 };

  constructor(cursor: ByteCursor, source: { path: string; compressed: boolean }) {
    super(cursor, source, 'mongodump archive', hint, 'the magic number');
  }

  async #u32(): Promise<number> {
    const buffered = this.cursor.takeBuffered(4);
    return (buffered ?? (await this.cursor.read(4))).readUInt32LE(0);
  }

  #checkLength(length: number, offset: number, what: string): void {
    if (length < minBsonSize || length > maxBsonSize) {
      throw this.fail(offset, `0x${length.toString(16).padStart(8, '0')} is neither a ${what} length (${minBsonSize}..${maxBsonSize} bytes) nor the 0xFFFFFFFF terminator`);
    }
  }

  /** The rest of a small document (header or metadata) whose length was just read. */
  async #document(length: number, offset: number, what: string): Promise<Record<string, unknown>> {
    this.#checkLength(length, offset, what);
    const rest = await this.cursor.read(length - 4);
    const bytes = Buffer.allocUnsafe(length);
    bytes.writeUInt32LE(length, 0);
    rest.copy(bytes, 4);
    try {
      return deserialize(bytes, { useBigInt64: true, validation: { utf8: true } }) as Record<string, unknown>;
    } catch (err) {
      throw this.fail(offset, `the ${what} is not valid BSON (${(err as Error).message})`);
    }
  }

  async scan(): Promise<MongoArchiveInventory> {
    const cursor = this.cursor;
    let magic: Buffer;
    try {
      magic = await cursor.read(4);
    } catch (err) {
      if (err instanceof EndOfInput) throw new ArtefactError(this.path, `not a mongodump archive (only ${err.got} bytes${this.compressed ? ' after gunzip' : ''})`);
      throw err;
    }
    if (magic.readUInt32LE(0) !== mongoArchiveMagic) {
      throw new ArtefactError(this.path, `not a mongodump archive (magic ${magic.toString('hex')} at offset 0${this.compressed ? ' after gunzip' : ''}; expected 6de29981)`);
    }
    await this.#prelude();
    await this.#blocks();
    return this.#result();
  }

  async #prelude(): Promise<void> {
    this.where = 'the archive header';
    let offset = this.cursor.offset;
    const length = await this.#u32();
    if (length === terminator) throw this.fail(offset, 'the archive header document is missing');
    const header = await this.#document(length, offset, 'archive header');
    this.#header = {
      formatVersion: stringField(header, 'version'),
      serverVersion: stringField(header, 'server_version'),
      toolVersion: stringField(header, 'tool_version'),
      concurrentCollections: Number(header.concurrent_collections ?? 0),
    };
    if (!this.#header.formatVersion) throw this.fail(offset, 'the archive header has no format version');
    this.where = 'the collection metadata';
    for (;;) {
      offset = this.cursor.offset;
      const next = await this.#u32();
      if (next === terminator) return;
      const doc = await this.#document(next, offset, 'collection metadata document');
      const db = stringField(doc, 'db');
      const collection = stringField(doc, 'collection');
      if (!collection) throw this.fail(offset, 'a collection metadata document names no collection');
      const ns = this.#namespace(db, collection, true);
      this.where = `the collection metadata of ${db}.${collection}`;
      ns.type = stringField(doc, 'type');
      ns.indexes = this.#indexCount(stringField(doc, 'metadata'), offset);
      this.where = 'the collection metadata';
    }
  }

  #indexCount(metadata: string, offset: number): number {
    if (!metadata) return 0;
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadata);
    } catch (err) {
      throw this.fail(offset, `its metadata is not valid extended JSON (${(err as Error).message})`);
    }
    const indexes = (parsed as { indexes?: unknown } | null)?.indexes;
    return Array.isArray(indexes) ? indexes.length : 0;
  }

  #namespace(db: string, collection: string, inPrelude: boolean): Namespace {
    const key = `${db}.${collection}`;
    let ns = this.#namespaces.get(key);
    if (!ns) {
      ns = { db, collection, inPrelude, type: '', indexes: 0, documents: 0, bytes: 0, segments: 0, opened: false, closed: false, crc: new Crc64(), firstBlock: undefined };
      this.#namespaces.set(key, ns);
    } else if (inPrelude) {
      ns.inPrelude = true;
    }
    return ns;
  }

  /** The namespace a data block belongs to: a timeseries collection's data is its buckets collection. */
  #dataNamespace(db: string, collection: string): Namespace {
    if (collection.startsWith(timeseriesBucketPrefix)) {
      const view = this.#namespaces.get(`${db}.${collection.slice(timeseriesBucketPrefix.length)}`);
      if (view?.type === 'timeseries') return view;
    }
    return this.#namespace(db, collection, false);
  }

  async #blocks(): Promise<void> {
    const cursor = this.cursor;
    let previous: Namespace | undefined;
    for (;;) {
      this.where = previous ? `the namespace header after ${previous.db}.${previous.collection}` : 'the first namespace header';
      if (await cursor.atEnd()) return;
      const offset = cursor.offset;
      const length = await this.#u32();
      if (length === terminator) throw this.fail(offset, 'two terminators in a row (a block without a namespace header)');
      const header = await this.#document(length, offset, 'namespace header');
      const db = stringField(header, 'db');
      const collection = stringField(header, 'collection');
      if (!collection) throw this.fail(offset, 'the namespace header names no collection');
      const ns = this.#dataNamespace(db, collection);
      this.where = `${db}.${collection}`;
      if (ns.closed) throw this.fail(offset, `a block for ${db}.${collection} follows its end-of-collection header`);
      if (header.EOF === true) {
        this.#endOfCollection(ns, header, offset);
        const after = cursor.offset;
        if ((await this.#u32()) !== terminator) throw this.fail(after, 'the end-of-collection header is not followed by the terminator');
      } else {
        if (ns.segments > 0 && previous !== ns) this.#interleaved = true;
        ns.opened = true;
        ns.firstBlock ??= offset;
        ns.segments++;
        await this.#segmentBody(ns);
      }
      previous = ns;
    }
  }

  #endOfCollection(ns: Namespace, header: Record<string, unknown>, offset: number): void {
    const recorded = typeof header.CRC === 'bigint' ? BigInt.asUintN(64, header.CRC) : typeof header.CRC === 'number' ? BigInt.asUintN(64, BigInt(header.CRC)) : undefined;
    const actual = ns.crc.digest();
    if (recorded !== undefined && recorded !== actual) {
      throw this.fail(
        offset,
        `CRC mismatch: the end-of-collection header records ${formatCrc(recorded)} but the ${ns.documents} documents read hash to ${formatCrc(actual)}; a document between offsets ${ns.firstBlock ?? offset} and ${offset} was altered`,
      );
    }
    ns.opened = true;
    ns.closed = true;
  }

  async #segmentBody(ns: Namespace): Promise<void> {
    const cursor = this.cursor;
    const crc = ns.crc;
    let last = 0;
    const sink = (piece: Buffer) => {
      crc.update(piece);
      last = piece[piece.length - 1]!;
    };
    for (;;) {
      const offset = cursor.offset;
      const prefix = cursor.takeBuffered(4) ?? (await cursor.read(4));
      const length = prefix.readUInt32LE(0);
      if (length === terminator) return;
      this.#checkLength(length, offset, 'document');
      crc.update(prefix);
      await cursor.skip(length - 4, sink);
      if (last !== 0) throw this.fail(offset, `the ${length}-byte document does not end with a zero byte`);
      ns.documents++;
      ns.bytes += length;
    }
  }

  #result(): MongoArchiveInventory {
    const end = this.cursor.offset;
    this.where = 'the end of the archive';
    for (const ns of this.#namespaces.values()) {
      const name = `${ns.db}.${ns.collection}`;
      if (ns.opened && !ns.closed) throw this.truncated(end, `but ${name} has ${ns.documents} documents so far but no end-of-collection header`);
      if (ns.inPrelude && !ns.closed && ns.type !== 'view') throw this.truncated(end, `but ${name} is listed in the metadata but none of its data follows`);
    }
    const byDb = new Map<string, MongoCollectionInventory[]>();
    for (const ns of this.#namespaces.values()) {
      const entry: MongoCollectionInventory = { name: ns.collection, documents: ns.documents, bytes: ns.bytes, indexes: ns.indexes, segments: ns.segments };
      if (ns.type && ns.type !== 'collection') entry.type = ns.type;
      const list = byDb.get(ns.db) ?? [];
      list.push(entry);
      byDb.set(ns.db, list);
    }
    const databases = [...byDb.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([name, collections]) => ({ name, collections: collections.sort((a, b) => compare(a.name, b.name)) }));
    const all = databases.flatMap((d) => d.collections);
    return {
      kind: 'mongodump-archive',
      path: this.path,
      compressed: this.compressed,
      ...this.#header,
      databases,
      totals: {
        databases: databases.length,
        collections: all.length,
        documents: all.reduce((n, c) => n + c.documents, 0),
        bytes: all.reduce((n, c) => n + c.bytes, 0),
        segments: all.reduce((n, c) => n + c.segments, 0),
      },
      interleaved: this.#interleaved,
    };
  }
}

function stringField(doc: Record<string, unknown>, key: string): string {
  const value = doc[key];
  return typeof value === 'string' ? value : '';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
