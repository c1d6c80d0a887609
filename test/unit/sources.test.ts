import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { localReader, type SourceReader } from '../../src/sources/reader.ts';
import { candidates, compilePattern, pickLatest, pickRandom } from '../../src/sources/select.ts';
import { download } from '../../src/sources/transfer.ts';
import { openArtefact } from '../../src/sources/local.ts';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';

describe('sources: selection and resumable download', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-srcunit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a date pattern orders by the date in the name and repeats {date}', () => {
    const p = compilePattern('{date:YYYY-MM-DD}/mongo_backup_{date}.tar.gz.enc');
    const entries = ['2026-03-09/mongo_backup_2026-03-09.tar.gz.enc', '2026-03-10/mongo_backup_2026-03-10.tar.gz.enc', '2026-03-11/mongo_backup_2026-03-10.tar.gz.enc', '2026-03-11/postgres_backup_2026-03-11.tar.gz.enc']
      .map((key) => ({ key, size: 1, mtimeMs: 0 }));
    const list = candidates(p, entries, 'date');
    assert.deepEqual(list.map((c) => c.key), ['2026-03-09/mongo_backup_2026-03-09.tar.gz.enc', '2026-03-10/mongo_backup_2026-03-10.tar.gz.enc']);
    assert.equal(pickLatest(list)!.key, '2026-03-10/mongo_backup_2026-03-10.tar.gz.enc');
    assert.equal(pickLatest(list)!.time, Date.UTC(2026, 2, 10));
  });

  it('random-within is reproducible from its seed', () => {
    const p = compilePattern('db_*.dump');
    const entries = Array.from({ length: 20 }, (_, i) => ({ key: `db_${i}.dump`, size: 1, mtimeMs: i }));
    const list = candidates(p, entries, 'mtime');
    assert.equal(pickRandom(list, 'seed-a')!.key, pickRandom(list, 'seed-a')!.key);
    assert.ok(new Set(['a', 'b', 'c', 'd', 'e', 'f'].map((s) => pickRandom(list, s)!.key)).size > 1);
  });

  it('an interrupted download resumes from the bytes already written, with the same digest', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(dir, 'big.bin'), data);
    const real = localReader(dir);
    const offsets: number[] = [];
    // The first transfer breaks after 1 MiB, as a dropped connection would.
    const flaky: SourceReader = {
      ...real,
      async open(key, start) {
        offsets.push(start);
        const stream = await real.open(key, start);
        if (offsets.length > 1) return stream;
        let sent = 0;
        return Readable.from((async function* () {
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            sent += chunk.length;
            yield chunk;
            if (sent >= 1024 * 1024) throw new Error('connection reset');
          }
        })());
      },
    };
    const target = join(dir, 'big.copy');
    const result = await download(flaky, 'big.bin', data.length, target, 'big.bin', new AbortController().signal);
    assert.equal(result.resumes, 1);
    assert.equal(offsets.length, 2);
    assert.ok(offsets[1]! >= 1024 * 1024);
    assert.equal(result.sha256, createHash('sha256').update(data).digest('hex'));
    assert.ok((await readFile(target)).equals(data));
  });

  it('a truncated gzip artefact fails in the hands of its reader, however late the reader attaches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-open-'));
    try {
      const whole = gzipSync(randomBytes(8 * 1024));
      const path = join(dir, 'cut.sql.gz');
      await writeFile(path, whole.subarray(0, whole.length >> 1));
      const stream = openArtefact({ path, compression: 'gzip' });
      // Small enough to decompress into the stream buffer at once. A runtime starts its tool
      // before it reads: an error raised meanwhile would be uncaught.
      await sleep(200);
      let bytes = 0;
      await assert.rejects(async () => {
        for await (const chunk of stream) bytes += (chunk as Buffer).length;
      }, /unexpected end of file/);
      assert.ok(bytes > 0 && bytes < 8 * 1024, `read ${bytes} bytes before the cut`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
