// `restoreproof inventory <artefact>`: what a backup artefact holds, read offline without
// restoring anything. The kind is detected from the artefact itself.
import { stat } from 'node:fs/promises';
import { ArtefactError } from '../errors.ts';
import { inspectLocalArtefact } from '../sources/local.ts';
import { inventoryBucketMirror, type BucketMirrorInventory } from './bucket.ts';
import { inventoryMongoArchive, mongoArchiveMagic, type MongoArchiveInventory } from './mongo-archive.ts';
import { inventoryPgDump, type PgDumpInventory } from './pg-toc.ts';

export { inventoryBucketMirror, inventoryMongoArchive, inventoryPgDump };
export type { BucketMirrorInventory, BucketPrefixInventory } from './bucket.ts';
export type { MongoArchiveInventory, MongoCollectionInventory, MongoDatabaseInventory } from './mongo-archive.ts';
export type { PgDataState, PgDumpInventory, PgTocEntry, PgTocSection } from './pg-toc.ts';

export type Inventory = MongoArchiveInventory | PgDumpInventory | BucketMirrorInventory;

/** Detects the artefact's kind (directory: bucket mirror; PGDMP: pg_dump; mongodump magic, gzip or not) and inventories it. */
export async function inventory(path: string): Promise<Inventory> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    // inspectLocalArtefact reports a missing or unreadable path.
  }
  if (isDirectory) return inventoryBucketMirror(path);
  const info = await inspectLocalArtefact(path, process.cwd(), { hash: false });
  const head = info.head;
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return inventoryPgDump(path);
  if (head.length >= 4 && head.readUInt32LE(0) === mongoArchiveMagic) return inventoryMongoArchive(path);
  throw new ArtefactError(
    path,
    `unrecognised artefact: not a mongodump archive, a pg_dump custom file or a directory (magic ${head.subarray(0, 4).toString('hex') || 'none'} at offset 0${info.compression === 'gzip' ? ' after gunzip' : ''})`,
    'inventory reads a mongodump --archive file (gzip or not), a pg_dump --format=custom file, or a directory mirror of a bucket',
  );
}

const integer = new Intl.NumberFormat('en-US');

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${integer.format(n)} ${n === 1 ? noun : plural}`;
}

function table(rows: string[][], rightAligned: number[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((cell, i) => (rightAligned.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()}`);
}

/** A human-readable rendering of an inventory, for the terminal. */
export function renderInventory(inv: Inventory): string {
  const lines: string[] = [];
  switch (inv.kind) {
    case 'mongodump-archive': {
      lines.push(`${inv.path}: mongodump archive${inv.compressed ? ' (gzip)' : ''}, format ${inv.formatVersion}`);
      lines.push(`server ${inv.serverVersion}, mongodump ${inv.toolVersion}, ${inv.concurrentCollections} collections dumped in parallel${inv.interleaved ? ' (blocks interleaved)' : ''}`);
      const rows = [['namespace', 'documents', 'bytes', 'indexes', 'blocks']];
      for (const db of inv.databases) {
        for (const c of db.collections) {
          rows.push([`${db.name}.${c.name}${c.type ? ` (${c.type})` : ''}`, integer.format(c.documents), bytes(c.bytes), String(c.indexes), String(c.segments)]);
        }
      }
      lines.push(...table(rows, [1, 2, 3, 4]));
      const t = inv.totals;
      lines.push(`${count(t.databases, 'database')}, ${count(t.collections, 'collection')}, ${count(t.documents, 'document')}, ${bytes(t.bytes)}`);
      break;
    }
    case 'pg_dump-custom': {
      lines.push(`${inv.path}: pg_dump custom archive${inv.compressed ? ' (gzip-wrapped)' : ''}, format ${inv.formatVersion}, compression ${inv.compression}`);
      lines.push(`database ${inv.database}, dumped ${inv.createdAt} (pg_dump's local time) from server ${inv.serverVersion} by pg_dump ${inv.dumpVersion}`);
      lines.push(`schemas: ${inv.schemas.join(', ') || '(none)'}`);
      const rows = [['table', 'data (as stored)']];
      for (const t of inv.tables) rows.push([`${t.schema}.${t.name}`, t.hasData ? bytes(t.dataBytes) : 'none']);
      lines.push(...table(rows, [1]));
      const data = inv.entries.filter((e) => e.section === 'data').length;
      lines.push(`${count(inv.tables.length, 'table')}, ${count(inv.entries.length, 'TOC entry', 'TOC entries')} (${data} in the data section)`);
      break;
    }
    case 'bucket-mirror': {
      lines.push(`${inv.path}: bucket mirror`);
      const rows = [['prefix', 'objects', 'bytes']];
      for (const p of inv.prefixes) rows.push([p.prefix || '(root)', integer.format(p.objects), bytes(p.bytes)]);
      lines.push(...table(rows, [1, 2]));
      const span = inv.oldestModifiedAt ? `, modified ${inv.oldestModifiedAt} .. ${inv.newestModifiedAt}` : '';
      lines.push(`${count(inv.objects, 'object')}, ${bytes(inv.bytes)}${span}`);
      break;
    }
  }
  return `${lines.join('\n')}\n`;
}
