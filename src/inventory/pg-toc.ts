// Offline inventory of a `pg_dump --format=custom` file: its header, table of contents and data
// block layout, read as a stream.
//
// Layout (postgres src/bin/pg_dump/pg_backup_archiver.c, ReadHead/ReadToc, and the custom
// format's ReadExtraToc): "PGDMP"; major, minor, revision bytes; int size; offset size; format
// (1 = custom); compression (a level as an int before 1.15, an algorithm byte from 1.15); the
// creation time as seven ints (sec, min, hour, mday, mon, year - 1900, isdst); the database name,
// the server and pg_dump versions; then the TOC: a count and per entry the dump id, hadDumper,
// tableoid and oid, tag, desc, section, defn, dropStmt, copyStmt, namespace, tablespace,
// tableam (1.14+), relkind (1.16+), owner, the obsolete "with oids" flag, the dependency ids
// (a list ended by a null string) and, for the custom format, the data offset (a state byte and
// `offset size` bytes). An int is a sign byte and `int size` little-endian magnitude bytes; a
// string is an int length (negative for null) and that many bytes.
//
// The data blocks that follow are walked too (a type byte, 1 = table data or 3 = large objects,
// the dump id, then length-prefixed chunks ended by a zero length; large objects repeat an oid
// and its chunks until a zero oid), without decompressing them: every entry the TOC says has
// data must have its block, at the offset the TOC records, so a truncated file is caught
// wherever it was cut, and each table's stored size is known.
import { ArtefactError } from '../errors.ts';
import { ByteCursor, EndOfInput, StreamParser, openArtefactStream } from './stream.ts';

const magic = 'PGDMP';
const customFormat = 1;
const sections: Record<number, PgTocSection> = { 1: 'none', 2: 'pre-data', 3: 'data', 4: 'post-data' };
const dataStates: Record<number, PgDataState> = { 1: 'not-set', 2: 'set', 3: 'none' };
const compressionAlgorithms: Record<number, string> = { 0: 'none', 1: 'gzip', 2: 'lz4', 3: 'zstd' };
const blockData = 1;
const blockLargeObjects = 3;
/** Oldest archive version parsed here: 1.11 (PostgreSQL 8.4's pg_dump) is the first to record sections. */
const minVersion = [1, 11, 0] as const;
/** Newest archive version this parser knows (PostgreSQL 17's pg_dump writes 1.16). */
const maxVersion = [1, 16, 0] as const;

export type PgTocSection = 'none' | 'pre-data' | 'data' | 'post-data';
/** Whether the entry has data in the file: `set` (at a known offset), `not-set` (written to a pipe), `none`. */
export type PgDataState = 'set' | 'not-set' | 'none';

export interface PgTocEntry {
  id: number;
  section: PgTocSection;
  desc: string;
  schema: string;
  tag: string;
  owner: string;
  dataState: PgDataState;
  /** Bytes of its data block as stored (compressed if the dump is), for entries with data. */
  dataBytes?: number;
}

export interface PgDumpInventory {
  kind: 'pg_dump-custom';
  path: string;
  /** Whether the file itself was gzip-wrapped (pg_restore cannot read that directly). */
  compressed: boolean;
  formatVersion: string;
  /** How table data is compressed inside the archive: none, gzip (with its level before 1.15), lz4, zstd. */
  compression: string;
  /** pg_dump's local time when the dump started (the archive does not record the zone). */
  createdAt: string;
  database: string;
  serverVersion: string;
  dumpVersion: string;
  schemas: string[];
  tables: { schema: string; name: string; hasData: boolean; dataBytes: number }[];
  entries: PgTocEntry[];
}

const hint = 'the dump is damaged or incomplete: run pg_dump --format=custom again, or restore from an earlier backup';

/** Reads the header and the TOC of a pg_dump custom-format file. */
export async function inventoryPgDump(path: string): Promise<PgDumpInventory> {
  const opened = await openArtefactStream(path);
  const reader = new TocReader(opened.cursor, { path, compressed: opened.compressed });
  try {
    return await reader.read();
  } catch (err) {
    throw reader.explain(err);
  } finally {
    await opened.cursor.close();
  }
}

class TocReader extends StreamParser {
  #intSize = 4;
  #offSize = 8;
  #version = 0;

  constructor(cursor: ByteCursor, source: { path: string; compressed: boolean }) {
    super(cursor, source, 'pg_dump archive', hint, 'the header');
  }

  async #byte(): Promise<number> {
    return (await this.cursor.read(1))[0]!;
  }

  async #int(): Promise<number> {
    const bytes = await this.cursor.read(1 + this.#intSize);
    let value = 0;
    for (let i = this.#intSize; i >= 1; i--) value = value * 256 + bytes[i]!;
    return bytes[0] ? -value : value;
  }

  async #str(): Promise<string | null> {
    const offset = this.cursor.offset;
    const length = await this.#int();
    if (length < 0) return null;
    if (length > 256 * 1024 * 1024) throw this.fail(offset, `implausible string length ${length}`);
    return (await this.cursor.read(length)).toString('utf8');
  }

  async read(): Promise<PgDumpInventory> {
    const head = await this.cursor.read(5).catch((err: unknown) => {
      if (err instanceof EndOfInput) return Buffer.alloc(0);
      throw err;
    });
    if (head.toString('latin1') !== magic) {
      throw new ArtefactError(this.path, `not a pg_dump custom-format archive (magic ${head.toString('hex') || 'missing'} at offset 0; expected ${Buffer.from(magic).toString('hex')})`);
    }
    const versionOffset = this.cursor.offset;
    const major = await this.#byte();
    const minor = await this.#byte();
    const revision = major > 1 || (major === 1 && minor > 0) ? await this.#byte() : 0;
    this.#version = versionNumber(major, minor, revision);
    if (this.#version < versionNumber(...minVersion) || this.#version > versionNumber(...maxVersion)) {
      throw this.fail(versionOffset, `archive version ${major}.${minor}.${revision} is outside what this inventory reads (${minVersion.join('.')} to ${maxVersion.join('.')})`);
    }
    let offset = this.cursor.offset;
    this.#intSize = await this.#byte();
    if (this.#intSize < 1 || this.#intSize > 8) throw this.fail(offset, `implausible integer size ${this.#intSize}`);
    offset = this.cursor.offset;
    this.#offSize = await this.#byte();
    if (this.#offSize < 1 || this.#offSize > 16) throw this.fail(offset, `implausible offset size ${this.#offSize}`);
    offset = this.cursor.offset;
    const format = await this.#byte();
    if (format !== customFormat) throw this.fail(offset, `format code ${format} is not the custom format (${customFormat}); only pg_dump --format=custom files are read`);
    let compression: string;
    if (this.#version >= versionNumber(1, 15, 0)) {
      const algorithm = await this.#byte();
      compression = compressionAlgorithms[algorithm] ?? `unknown (${algorithm})`;
    } else {
      const level = await this.#int();
      compression = level === 0 ? 'none' : `gzip (level ${level === -1 ? 'default' : level})`;
    }
    const tm: number[] = [];
    for (let i = 0; i < 7; i++) tm.push(await this.#int());
    const [sec, min, hour, mday, mon, year] = tm as [number, number, number, number, number, number];
    const createdAt = `${String(year + 1900).padStart(4, '0')}-${pad2(mon + 1)}-${pad2(mday)}T${pad2(hour)}:${pad2(min)}:${pad2(sec)}`;
    const database = (await this.#str()) ?? '';
    const serverVersion = (await this.#str()) ?? '';
    const dumpVersion = (await this.#str()) ?? '';

    this.where = 'the table of contents';
    offset = this.cursor.offset;
    const count = await this.#int();
    if (count < 0) throw this.fail(offset, `negative TOC entry count ${count}`);
    const entries: PgTocEntry[] = [];
    const dataOffsets = new Map<number, number | undefined>();
    for (let i = 0; i < count; i++) {
      const { entry, dataOffset } = await this.#entry(i, count);
      entries.push(entry);
      if (entry.dataState !== 'none') dataOffsets.set(entry.id, dataOffset);
    }
    await this.#dataBlocks(entries, dataOffsets);
    return {
      kind: 'pg_dump-custom',
      path: this.path,
      compressed: this.compressed,
      formatVersion: `${major}.${minor}${revision ? `.${revision}` : ''}`,
      compression,
      createdAt,
      database,
      serverVersion,
      dumpVersion,
      ...summarize(entries),
      entries,
    };
  }

  async #entry(index: number, count: number): Promise<{ entry: PgTocEntry; dataOffset: number | undefined }> {
    this.where = `TOC entry ${index + 1} of ${count}`;
    const offset = this.cursor.offset;
    const id = await this.#int();
    if (id <= 0) throw this.fail(offset, `dump id ${id} is out of range`);
    this.where = `TOC entry ${index + 1} of ${count} (dump id ${id})`;
    await this.#int(); // hadDumper
    await this.#str(); // tableoid
    await this.#str(); // oid
    const tag = (await this.#str()) ?? '';
    const desc = (await this.#str()) ?? '';
    this.where = `TOC entry ${index + 1} of ${count} (dump id ${id}, ${desc} ${tag})`;
    const sectionOffset = this.cursor.offset;
    const sectionCode = await this.#int();
    const section = sections[sectionCode];
    if (!section) throw this.fail(sectionOffset, `unknown section code ${sectionCode}`);
    await this.#str(); // defn
    await this.#str(); // dropStmt
    await this.#str(); // copyStmt
    const schema = (await this.#str()) ?? '';
    await this.#str(); // tablespace
    if (this.#version >= versionNumber(1, 14, 0)) await this.#str(); // tableam
    if (this.#version >= versionNumber(1, 16, 0)) await this.#int(); // relkind
    const owner = (await this.#str()) ?? '';
    await this.#str(); // "with oids", always "false" nowadays
    while ((await this.#str()) !== null); // dependencies, ended by a null string
    const stateOffset = this.cursor.offset;
    const stateCode = await this.#byte();
    const dataState = dataStates[stateCode];
    if (!dataState) throw this.fail(stateOffset, `unknown data offset flag ${stateCode}`);
    const position = await this.cursor.read(this.#offSize);
    let dataOffset = 0;
    for (let i = position.length - 1; i >= 0; i--) dataOffset = dataOffset * 256 + position[i]!;
    return { entry: { id, section, desc, schema, tag, owner, dataState }, dataOffset: dataState === 'set' ? dataOffset : undefined };
  }

  /** Walks the data blocks after the TOC, checking each against the TOC and measuring it. */
  async #dataBlocks(entries: PgTocEntry[], dataOffsets: Map<number, number | undefined>): Promise<void> {
    const byId = new Map(entries.map((e) => [e.id, e]));
    const seen = new Set<number>();
    this.where = 'the data blocks';
    while (!(await this.cursor.atEnd())) {
      const offset = this.cursor.offset;
      const type = await this.#byte();
      if (type !== blockData && type !== blockLargeObjects) throw this.fail(offset, `unknown data block type ${type}`);
      const id = await this.#int();
      const entry = byId.get(id);
      if (!entry || !dataOffsets.has(id)) throw this.fail(offset, `a data block for dump id ${id}, which the TOC does not list as having data`);
      this.where = `the data of ${describe(entry)}`;
      if (seen.has(id)) throw this.fail(offset, 'a second data block for the same entry');
      const recorded = dataOffsets.get(id);
      if (recorded !== undefined && recorded !== offset) throw this.fail(offset, `the TOC places this block at offset ${recorded}`);
      seen.add(id);
      let size = 0;
      if (type === blockData) size = await this.#chunks();
      else for (let oid = await this.#int(); oid !== 0; oid = await this.#int()) size += await this.#chunks();
      entry.dataBytes = size;
      this.where = `the data blocks after ${describe(entry)}`;
    }
    const end = this.cursor.offset;
    for (const id of dataOffsets.keys()) {
      if (!seen.has(id)) {
        throw this.truncated(end, `before the data of ${describe(byId.get(id)!)}`);
      }
    }
  }

  /** Length-prefixed chunks up to a zero length; returns their total size. */
  async #chunks(): Promise<number> {
    let total = 0;
    for (;;) {
      const offset = this.cursor.offset;
      const length = await this.#int();
      if (length === 0) return total;
      if (length < 0) throw this.fail(offset, `negative chunk length ${length}`);
      await this.cursor.skip(length);
      total += length;
    }
  }
}

function summarize(entries: PgTocEntry[]): Pick<PgDumpInventory, 'schemas' | 'tables'> {
  const withData = new Map(entries.filter((e) => e.desc === 'TABLE DATA' && e.dataState !== 'none').map((e) => [`${e.schema}\u0000${e.tag}`, e]));
  const tables = entries
    .filter((e) => e.desc === 'TABLE')
    .map((e) => {
      const data = withData.get(`${e.schema}\u0000${e.tag}`);
      return { schema: e.schema, name: e.tag, hasData: data !== undefined, dataBytes: data?.dataBytes ?? 0 };
    });
  const schemas = new Set(entries.filter((e) => e.desc === 'SCHEMA').map((e) => e.tag));
  for (const t of tables) schemas.add(t.schema);
  return { schemas: [...schemas].sort(), tables };
}

function describe(entry: PgTocEntry): string {
  return `${entry.desc} ${entry.schema ? `${entry.schema}.` : ''}${entry.tag} (dump id ${entry.id})`;
}

function versionNumber(major: number, minor: number, revision: number): number {
  return (major * 256 + minor) * 256 + revision;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
