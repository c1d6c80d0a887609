// Issue 14, deliverable 7: history appends are locked. Eight runs of one drill started at once
// through the real CLI, sharing a report dir, must leave one chain that `verify --history`
// accepts; and the lock survives a holder that died (a stale lock is broken, never waited on forever).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../../src/util/lockfile.ts';
import { processIdentity } from '../../src/util/owner.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';
import { recordFault } from '../support/faults.ts';
import { readReport, runCli } from '../support/fixtures.ts';

const runIdOf = (stderr: string) => /restoreproof run (\S+):/.exec(stderr)?.[1] ?? assert.fail(`no run id in:\n${stderr}`);

describe('faults: concurrent runs and the history lock', function () {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-history-lock-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('8 concurrent runs of one drill sharing a report dir leave a chain that verify --history accepts', async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    await writeFile(join(work, 'tiny.sql'), 'create table t (id int);\ninsert into t select generate_series(1, 10);\n');
    const drill = join(work, 'concurrent.yaml');
    await writeFile(drill, [
      'apiVersion: restoreproof/v1', 'kind: RestoreDrill', 'metadata: { name: concurrent }', 'spec:', '  runtime: local',
      '  stores:', '    db:', '      engine: postgres', `      restore: [ { artefact: ${join(work, 'tiny.sql')}, database: app } ]`,
      '  checks:', '    - { id: rows, type: count, store: db, database: app, table: t, expect: { equals: 10 } }', '',
    ].join('\n'));
    const key = join(work, 'signing.key');
    assert.equal((await runCli(['keygen', '--out', key])).code, 0);
    const reports = join(work, 'reports');
    const env = { RESTOREPROOF_HISTORY: '', RESTOREPROOF_SIGNING_KEY_FILE: key };

    const results = await Promise.all(Array.from({ length: 8 }, () => runCli(['run', drill, '--report-dir', reports], { env, killAfterMs: 600_000 })));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const runs = await Promise.all(results.map((r) => readReport(reports, runIdOf(r.stderr))));
    const history = join(reports, 'history', 'concurrent');
    const verify = await runCli(['verify', '--history', history, '--key', `${key}.pub`], { env: { RESTOREPROOF_SIGNING_KEY_FILE: '', RESTOREPROOF_HISTORY: '' } });
    recordFault('8 concurrent runs, one history', { injected: 8, clearError: verify.code === 0 });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /8 run\(s\), chain intact/);
    assert.deepEqual(runs.map((r) => r.sequence).sort((a, b) => a! - b!), [1, 2, 3, 4, 5, 6, 7, 8]);
    // Each run chains to the one appended before it: following `previous` from the head visits all eight.
    const bySequence = [...runs].sort((a, b) => a.sequence! - b.sequence!);
    for (const [i, r] of bySequence.entries()) assert.equal(r.previous?.runId ?? null, i === 0 ? null : bySequence[i - 1]!.runId);
    // A run verified on its own, against that history, is in the chain too.
    const one = await runCli(['verify', join(reports, `${bySequence[3]!.runId}.json`), '--key', `${key}.pub`, '--history', history], { env: { RESTOREPROOF_SIGNING_KEY_FILE: '', RESTOREPROOF_HISTORY: '' } });
    assert.equal(one.code, 0, one.stdout);
  });

  it('a lock left by a harness that died is broken; a live holder is waited for, and named when the wait ends', async () => {
    const lock = join(work, '.lock');
    // A holder that existed, identified while it ran, then died (SIGKILL: it released nothing).
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    const dead = processIdentity(child.pid!);
    assert.notEqual(dead.start, '', 'the start time is read from /proc');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await writeFile(lock, JSON.stringify({ ...dead, token: 'dead' }));
    const held = await acquireLock(lock, { timeoutMs: 60_000 });
    assert.equal(JSON.parse(await readFile(lock, 'utf8')).pid, process.pid, 'the stale lock was replaced by ours');

    // While we hold it, another holder (this process, another lock) waits, then fails naming us.
    await assert.rejects(acquireLock(lock, { timeoutMs: 300, what: 'the test history' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_LOCKED');
      assert.match(err.message, new RegExp(`the test history is locked by process ${process.pid} on ${hostname()}, which still runs`));
      return true;
    });
    await held.release();
    await assert.rejects(readFile(lock), /ENOENT/, 'release removes the lock');

    // A holder on another host sharing the directory cannot be checked: it is waited for, not broken.
    await writeFile(lock, JSON.stringify({ pid: 1, start: '1', boot: 'x', host: 'elsewhere.invalid', token: 'remote' }));
    await assert.rejects(acquireLock(lock, { timeoutMs: 300 }), /locked by process 1 on elsewhere\.invalid/);
    assert.match(await readFile(lock, 'utf8'), /elsewhere\.invalid/, 'a remote holder\'s lock is left in place');
  });
});
