// The offline inventory of pg_dump custom-format files, against a dump made by the real pg_dump
// from a seeded ephemeral PostgreSQL, cross-checked against `pg_restore --list`.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ArtefactError } from '../../src/errors.ts';
import { inventory } from '../../src/inventory/index.ts';
import { inventoryPgDump, type PgDumpInventory } from '../../src/inventory/pg-toc.ts';
import { runTool } from '../../src/util/process.ts';
import { requireBackends, testbed } from '../support/backends.ts';
import { demoBackups, runCli } from '../support/fixtures.ts';

async function artefactError(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => assert.fail('expected an ArtefactError, but the inventory succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ArtefactError, `expected an ArtefactError, got ${(err as Error).stack ?? String(err)}`);
  return err.message;
}

describe('inventory: pg_dump custom-format files written by the real pg_dump', function () {
  this.timeout(180_000);
  let dump: string;
  let truncatedHalf: string;
  let counts: Record<string, number>;
  let binDir: string;
  let scratch: string;

  before(async function () {
    requireBackends(this, 'postgres');
    binDir = String(testbed().backends.postgres!.binDir);
    const fixtures = await demoBackups();
    dump = fixtures.shopDump;
    truncatedHalf = join(fixtures.dir, 'shop-truncated.dump');
    counts = fixtures.counts;
    scratch = await mkdtemp(join(tmpdir(), 'restoreproof-test-inventory-pg-'));
  });

  after(async function () {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('reads the header', async function () {
    const inv = await inventoryPgDump(dump);
    assert.equal(inv.kind, 'pg_dump-custom');
    assert.equal(inv.compressed, false);
    assert.match(inv.formatVersion, /^1\.1[4-6]$/);
    assert.equal(inv.compression, 'gzip (level 9)', 'the demo dump is made with --compress=9');
    assert.equal(inv.database, 'shop');
    const version = String(testbed().backends.postgres!.version);
    assert.ok(inv.serverVersion.startsWith(version), `${inv.serverVersion} is PostgreSQL ${version}`);
    assert.ok(inv.dumpVersion.startsWith(version.split('.')[0]!));
    assert.match(inv.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  });

  it('lists the schemas and tables, each with its data', async function () {
    const inv = await inventoryPgDump(dump);
    assert.deepEqual(inv.schemas, ['billing', 'public']);
    const tables = inv.tables.map((t) => `${t.schema}.${/^[a-z_][a-z0-9_]*$/.test(t.name) ? t.name : `"${t.name}"`}`);
    assert.deepEqual(tables.sort(), Object.keys(counts).filter((t) => t !== 'public.events').sort(), 'the tables of the shop database');
    for (const t of inv.tables) {
      assert.equal(t.hasData, true, `${t.schema}.${t.name}`);
      assert.ok(t.dataBytes > 0);
    }
    const index = inv.entries.find((e) => e.desc === 'INDEX');
    assert.deepEqual(index && { schema: index.schema, tag: index.tag, section: index.section }, { schema: 'public', tag: 'orders_customer_idx', section: 'post-data' });
  });

  it('agrees with pg_restore --list entry by entry', async function () {
    const listed = await runTool({ command: join(binDir, 'pg_restore'), args: ['--list', dump], captureStdout: true });
    assert.equal(listed.exitCode, 0, listed.stderr);
    const inv = await inventoryPgDump(dump);
    const byId = new Map(inv.entries.map((e) => [e.id, e]));
    const lines = listed.stdout.split('\n').filter((l) => /^\d+;/.test(l));
    assert.ok(lines.length >= 20);
    for (const line of lines) {
      const [, id, rest] = /^(\d+); \d+ \d+ (.*)$/.exec(line) ?? assert.fail(`unexpected pg_restore --list line: ${line}`);
      const entry = byId.get(Number(id)) ?? assert.fail(`entry ${id} missing from the inventory`);
      assert.equal(`${entry.desc} ${entry.schema || '-'} ${entry.tag} ${entry.owner}`, rest);
    }
    // pg_restore --list leaves out only the entries it applies by itself.
    const unlisted = inv.entries.filter((e) => !lines.some((l) => l.startsWith(`${e.id};`))).map((e) => e.desc);
    assert.deepEqual(unlisted.sort(), ['DATABASE', 'ENCODING', 'SEARCHPATH', 'STDSTRINGS']);
    const count = /TOC Entries: (\d+)/.exec(listed.stdout)?.[1];
    assert.equal(inv.entries.length, Number(count));
  });

  it('reads a gzip-wrapped dump the same way', async function () {
    const gz = join(scratch, 'shop.dump.gz');
    await writeFile(gz, gzipSync(await readFile(dump)));
    const plain = await inventoryPgDump(dump);
    const wrapped = (await inventory(gz)) as PgDumpInventory;
    assert.equal(wrapped.kind, 'pg_dump-custom');
    assert.equal(wrapped.compressed, true);
    assert.deepEqual({ ...wrapped, path: dump, compressed: false }, plain);
  });

  it('a truncated dump names the offset and what was being read, wherever it was cut', async function () {
    const half = await artefactError(inventoryPgDump(truncatedHalf));
    assert.match(half, /truncated pg_dump archive: it ends at offset \d+ in the data of TABLE DATA \S+ .*\(dump id \d+\)/);
    const bytes = await readFile(dump);
    const tocEnd = bytes.indexOf(Buffer.from('orders_customer_id_fkey')) + 200;
    const cuts: [number, RegExp][] = [
      [3, /not a pg_dump custom-format archive/],
      [40, /in the header/],
      [600, /in TOC entry \d+ of \d+/],
      [tocEnd, /(TOC entry|the data)/],
      [bytes.length - 2, /in the data of TABLE DATA/],
    ];
    for (const [cut, where] of cuts) {
      const path = join(scratch, `cut-${cut}.dump`);
      await writeFile(path, bytes.subarray(0, cut));
      const message = await artefactError(inventoryPgDump(path));
      assert.match(message, where);
      if (cut > 5) assert.match(message, new RegExp(`ends at offset ${cut}\\b`));
    }
  });

  it('a corrupt TOC entry is refused with its offset and the entry named', async function () {
    const bytes = await readFile(dump);
    // The first TABLE DATA entry: its desc string, then its section as an int (sign byte, 4 bytes).
    const section = bytes.indexOf(Buffer.from('TABLE DATA')) + 'TABLE DATA'.length;
    assert.equal(bytes.readUInt32LE(section + 1), 3, 'section 3 is data');
    const copy = Buffer.from(bytes);
    copy[section + 1] = 9;
    const path = join(scratch, 'corrupt-section.dump');
    await writeFile(path, copy);
    assert.match(
      await artefactError(inventoryPgDump(path)),
      new RegExp(`corrupt pg_dump archive at offset ${section} in TOC entry \\d+ of \\d+ \\(dump id \\d+, TABLE DATA [^)]+\\): unknown section code 9`),
    );
  });

  it('restoreproof inventory <dump> --json', async function () {
    const result = await runCli(['inventory', dump, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const inv = JSON.parse(result.stdout) as PgDumpInventory;
    assert.deepEqual(inv, await inventoryPgDump(dump));
    const text = await runCli(['inventory', dump]);
    assert.match(text.stdout, /pg_dump custom archive, format 1\.1\d/);
    assert.match(text.stdout, /billing\.Invoice Lines\s+\d/);
    const cut = await runCli(['inventory', truncatedHalf]);
    assert.equal(cut.code, 1);
    assert.match(cut.stderr, /^error E_ARTEFACT: .*truncated pg_dump archive: it ends at offset \d+/);
  });
});
