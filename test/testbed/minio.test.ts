// Smoke test of the test bed's MinIO server: a throwaway server with a temp data dir and
// generated credentials, reached through the `minio` client the product uses.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as Minio from 'minio';
import { requireBackends, testbed, requireFiles, freePort } from '../support/backends.ts';




describe('test bed: minio (MinIO server)', function () {
  let dir: string | undefined;
  let proc: ChildProcess | undefined;
  let client: Minio.Client;
  const accessKey = `rp${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(18).toString('hex');

  before(async function () {
    requireBackends(this, 'minio');
    const server = String(testbed().backends.minio!.server);
    requireFiles(this, 'minio', [server]);
    dir = mkdtempSync(join(tmpdir(), 'restoreproof-testbed-minio-'));
    const port = await freePort();
    const consolePort = await freePort();
    proc = spawn(server, ['server', join(dir, 'data'), '--address', `127.0.0.1:${port}`,
      '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
      env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_UPDATE: 'off',
        MINIO_BROWSER: 'off', HOME: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`minio exited with ${proc.exitCode}: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/minio/health/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      await sleep(200);
    }
    client = new Minio.Client({ endPoint: '127.0.0.1', port, useSSL: false, accessKey, secretKey });
  });

  after(async function () {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('puts, lists and stats objects with the minio client', async function () {
    await client.makeBucket('backups');
    assert.equal(await client.bucketExists('backups'), true);
    const body = Buffer.from('pg_dump output, or so it claims\n'.repeat(1000));
    await client.putObject('backups', 'nightly/2026-11-21/db.dump', body, body.length, { 'Content-Type': 'application/octet-stream' });
    await client.putObject('backups', 'nightly/2026-11-21/manifest.json', Buffer.from('{"ok":true}'));

    const names: string[] = [];
    for await (const item of client.listObjectsV2('backups', 'nightly/', true)) {
      if ('name' in item && item.name) names.push(item.name);
    }
    assert.deepEqual(names.sort(), ['nightly/2026-11-21/db.dump', 'nightly/2026-11-21/manifest.json']);

    const stat = await client.statObject('backups', 'nightly/2026-11-21/db.dump');
    assert.equal(stat.size, body.length);

    const chunks: Buffer[] = [];
    for await (const chunk of await client.getObject('backups', 'nightly/2026-11-21/db.dump')) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(body));
  });
});
