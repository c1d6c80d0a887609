// Redis's state mutants and integrity check against real servers: deleting one key of each class
// changes what the keys and key checks read, DUMP/RESTORE puts it back with its value and expiry,
// and redis-check-rdb gives its verdict on a truncated RDB the server refuses to start on, and
// redis-check-aof on a cut AOF the server loads without a word.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CheckRunner } from '../../src/checks/types.ts';
import type { RedisStoreSpec } from '../../src/drill/types.ts';
import { engines } from '../../src/engines/index.ts';
import { redisClient } from '../../src/engines/redis/client.ts';
import { redisIntegrity } from '../../src/engines/redis/integrity.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { runInlineDrill } from '../support/inline-drill.ts';
import { restoreStore, type RestoredStore } from '../support/restored-store.ts';

const fixtures = fileURLToPath(new URL('../../src/engines/redis/conformance/', import.meta.url));
const engine = engines.redis;
const spec = (artefact: string): RedisStoreSpec => ({ engine: 'redis', restore: [{ artefact }] });

describe('redis: state mutants and the integrity check', function () {
  let restored: RestoredStore;
  let work: string;
  const signal = new AbortController().signal;

  /** Every key of db 0 and 3 with its serialized value and absolute expiry. */
  const snapshot = async () => {
    const out: Record<string, string> = {};
    for (const db of [0, 3]) {
      const c = await redisClient(restored.store.endpoint, db);
      try {
        for (const key of ((await c.sendCommand(['KEYS', '*'])) as string[]).sort()) {
          out[`${db}/${key}`] = `${((await c.sendBinary(['DUMP', key])) as Buffer).toString('hex')} expires ${String(await c.sendCommand(['PEXPIRETIME', key]))}`;
        }
      } finally {
        await c.close();
      }
    }
    return out;
  };

  before(async function () {
    requireBackends(this, 'redis');
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-redis-mutants-'));
    restored = await restoreStore(spec(join(fixtures, 'items.rdb')), fixtures);
    // Beside the fixture's item:1..3: two more classes in db 0 (one with an expiry), a key without a prefix, a hash in db 3.
    const c0 = await redisClient(restored.store.endpoint, 0);
    await c0.sendCommand(['SET', 'session:b', 'x', 'PX', '3600000']);
    await c0.sendCommand(['SET', 'session:a', 'y', 'PX', '7200000']);
    await c0.sendCommand(['RPUSH', 'queue:jobs', 'j1', 'j2']);
    await c0.sendCommand(['SET', 'standalone', 'z']);
    await c0.close();
    const c3 = await redisClient(restored.store.endpoint, 3);
    await c3.sendCommand(['HSET', 'user:7', 'name', 'ada']);
    await c3.close();
  });
  after(async () => {
    await restored?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('deletes the smallest key of each class in each db, and the undo restores value and expiry exactly', async () => {
    const mutants = await engine.mutants!.state(restored.store, spec(''), { databases: ['0'], signal });
    assert.deepEqual(mutants.map((m) => m.id), ['delete-key:0/standalone', 'delete-key:0/item:1', 'delete-key:0/queue:jobs', 'delete-key:0/session:a', 'delete-key:3/user:7']);
    const before = await snapshot();
    const keys = engine.checks.keys as unknown as CheckRunner;
    const key = engine.checks.key as unknown as CheckRunner;
    for (const m of mutants) {
      const [db, name] = [Number(m.target.split('/')[0]), m.target.slice(m.target.indexOf('/') + 1)];
      const undo = await m.apply(signal);
      const pattern = name.includes(':') ? `${name.split(':')[0]}:*` : name;
      const counted = await keys({ type: 'keys', store: 'store', db, pattern, expect: { min: 1 } } as never, restored.checkContext(String(db)));
      const found = await key({ type: 'key', store: 'store', db, key: name } as never, restored.checkContext(String(db)));
      assert.equal(found.passed, false, `${m.id}: the key check still finds ${name}`);
      assert.equal(counted.actual, { item: 2, queue: 0, session: 1, user: 0, standalone: 0 }[pattern.split(':')[0]!], `${m.id}: keys ${pattern}`);
      await undo();
      assert.deepEqual(await snapshot(), before, `${m.id}: the undo left the keyspace different`);
    }
  });

  it('integrity: redis-check-rdb passes the restored RDB and names it', async () => {
    const result = await redisIntegrity({ type: 'integrity', store: 'store' }, restored.checkContext('0'));
    assert.equal(result.passed, true, result.message);
    assert.match(result.message, /redis-check-rdb .*items\.rdb: RDB looks OK!, 3 keys read/);
  });

  it('integrity: a truncated RDB fails the check, in the report, though the server never started on it', async () => {
    const whole = await readFile(join(fixtures, 'items.rdb'));
    const truncated = join(work, 'truncated.rdb');
    await writeFile(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const report = await runInlineDrill(work, 'redis-truncated', ['  stores:', '    cache:', '      engine: redis', `      restore: [ { artefact: ${truncated} } ]`, '  checks:', '    - { id: rdb, type: integrity, store: cache }', '    - { id: n, type: keys, store: cache, expect: { min: 1 } }']);
    assert.equal(report.exitCode, 1, JSON.stringify(report.errors));
    assert.equal(report.phases.find((p) => p.name === 'provision')?.status, 'failed', 'redis-server refused the truncated RDB');
    const rdb = report.checks.find((c) => c.id === 'rdb');
    assert.equal(rdb?.status, 'failed', JSON.stringify(report.checks));
    assert.match(rdb!.message, /redis-check-rdb found .*truncated\.rdb damaged: Unexpected EOF reading RDB file/);
    assert.ok(!report.checks.some((c) => c.id === 'n' && c.status === 'passed'));
  });

  it('integrity: redis-check-aof passes an AOF directory (Redis 7 manifest) and fails one cut inside a command, in the report', async () => {
    // The restored store turns AOF on (a rewrite writes its base and manifest), takes more writes into
    // its incremental file, and its appendonlydir is copied: an AOF the server itself wrote.
    const c = await redisClient(restored.store.endpoint, 0);
    try {
      await c.sendCommand(['CONFIG', 'SET', 'appendfsync', 'always']);
      await c.sendCommand(['CONFIG', 'SET', 'appendonly', 'yes']);
      for (let i = 0; i < 50 && !/aof_rewrite_in_progress:0[\s\S]*aof_enabled:1|aof_enabled:1[\s\S]*aof_rewrite_in_progress:0/.test(String(await c.sendCommand(['INFO', 'persistence']))); i++) await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 20; i++) await c.sendCommand(['SET', `aof:${i}`, 'x'.repeat(40)]);
    } finally {
      await c.close();
    }
    const serverDir = restored.store.resources.find((r) => r.kind === 'directory')!.id;
    const aof = join(work, 'aof');
    await cp(join(serverDir, 'appendonlydir'), aof, { recursive: true });
    const files = (await readdir(aof)).sort();
    assert.ok(files.some((f) => f.endsWith('.manifest')) && files.some((f) => f.includes('.incr.')), files.join(', '));
    const good = await runInlineDrill(work, 'redis-aof', ['  stores:', '    cache:', '      engine: redis', `      restore: [ { artefact: ${aof} } ]`, '  checks:', '    - { id: aof, type: integrity, store: cache }', '    - { id: n, type: keys, store: cache, pattern: "aof:*", expect: { equals: 20 } }']);
    assert.equal(good.exitCode, 0, JSON.stringify([good.errors, good.checks]));
    assert.match(good.checks.find((x) => x.id === 'aof')!.message, /^redis-check-aof .*aof: All AOF files and manifest are valid$/);
    // Cut the incremental file inside its last command: the check fails, naming the artefact.
    const incr = join(aof, files.find((f) => f.includes('.incr.'))!);
    const bytes = await readFile(incr);
    await writeFile(incr, bytes.subarray(0, bytes.length - 7));
    const cut = await runInlineDrill(work, 'redis-aof-cut', ['  stores:', '    cache:', '      engine: redis', `      restore: [ { artefact: ${aof} } ]`, '  checks:', '    - { id: aof, type: integrity, store: cache }']);
    assert.equal(cut.exitCode, 1, JSON.stringify(cut.errors));
    const verdict = cut.checks.find((x) => x.id === 'aof')!;
    assert.equal(verdict.status, 'failed', JSON.stringify(cut.checks));
    assert.match(verdict.message, /^redis-check-aof found .*aof damaged: AOF appendonly\.aof\.\d+\.incr\.aof is not valid/);
    // redis-server loads a cut AOF by default (aof-load-truncated yes): only this check saw the damage.
    assert.equal(cut.phases.find((p) => p.name === 'restore')?.status, 'passed');
  });
});
