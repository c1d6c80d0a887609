import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, truncate, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../../src/run/run.ts';
import { newRunId } from '../../src/run/identity.ts';
import { startLocalMinio } from '../../src/engines/s3/local.ts';
import { startLocalPostgres } from '../../src/engines/postgres/local.ts';
import { freePort } from '../../src/runtimes/local/server.ts';
import { s3Client } from '../../src/engines/s3/client.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, testbed, useTestbedBinaries } from '../support/backends.ts';
import { assertValidReport, demoBackups, processesMatching } from '../support/fixtures.ts';
import { ageEncryptTo, ageEncryptWithPassphrase, datedBackup, opensslEncrypt, sh } from '../support/source-backups.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

const passphrase = 'correct horse battery staple';
const header = (name: string) => ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:', '  runtime: local'];
const pass = { RP_BACKUP_PASS: passphrase, RP_WRONG_PASS: 'Tr0ub4dor&3' };

describe('sources: fetch, verify, decrypt and unpack backups as they exist in the wild', function () {
  let work: string;
  let reportDir: string;
  let dated: string;
  let shopDump: string;

  before(async function () {
    requireBackends(this, 'postgres');
    useTestbedBinaries();
    Object.assign(process.env, pass);
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-sources-'));
    reportDir = join(work, 'reports');
    shopDump = (await demoBackups()).shopDump;
    // Two nights; the older one holds a file that is not a dump, so restoring it would fail.
    dated = join(work, 'backup-server');
    const junk = join(work, 'junk.dump');
    await writeFile(junk, 'not a dump\n');
    await datedBackup(dated, '2026-03-01', 'postgres', 'postgres.dump', junk, passphrase);
    await datedBackup(dated, '2026-03-02', 'postgres', 'postgres.dump', shopDump, passphrase);
    await datedBackup(dated, '2026-03-02', 'mongo', 'mongo.archive', junk, passphrase);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function run(name: string, lines: string[], env: Record<string, string> = {}) {
    const file = join(work, `${name}.yaml`);
    await writeFile(file, [...header(name), ...lines].join('\n'));
    const report = await runDrill(file, { reportDir, env: { ...process.env, ...pass, ...env } as Record<string, string> });
    assertValidReport(report);
    assert.ok(report.reports.json, 'the JSON report is written');
    assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), [], 'no staging or server dir is left');
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), []);
    JSON.stringify(report).includes(passphrase) && assert.fail('the passphrase leaked into the report');
    return report;
  }

  const pgStore = (artefact: string[], extra: string[] = ['          database: shop']) => [
    '  stores:', '    db:', '      engine: postgres', '      restore:', `        - artefact:`, ...artefact.map((l) => `            ${l}`), ...extra,
  ];
  const customers = ['  checks:', '    - { id: customers, type: count, store: db, database: shop, table: customers, expect: { equals: 500 } }'];
  const decrypt = (more = '') => `decrypt: { openssl: { passphrase: { env: RP_BACKUP_PASS }${more} } }`;

  /**
   * A backup that is not there or not what it should be fails in the fetch phase (exit 1); a source
   * that cannot be trusted (a changed host key) stops the run in the preflight: it could not run (exit 3).
   */
  async function expectFetchFailure(name: string, lines: string[], message: RegExp, stoppedIn: 'fetch' | 'preflight' = 'fetch') {
    const report = await run(name, lines);
    assert.equal(report.exitCode, stoppedIn === 'fetch' ? 1 : 3, JSON.stringify(report.errors));
    assert.equal(report.errors[0]!.code, stoppedIn === 'fetch' ? 'E_ARTEFACT' : 'E_HOST_KEY');
    assert.match(report.errors[0]!.message, message);
    assert.deepEqual(report.phases.map((p) => [p.name, p.status]).slice(0, 4), stoppedIn === 'fetch'
      ? [['load', 'passed'], ['preflight', 'passed'], ['fetch', 'failed'], ['verify', 'skipped']]
      : [['load', 'passed'], ['preflight', 'failed'], ['verify', 'skipped'], ['provision', 'skipped']]);
    assert.equal(report.phases.find((p) => p.name === 'restore')!.status, 'skipped');
    return report;
  }

  describe('local dated folders', () => {
    it('picks the newest dated folder, checks the sidecar, decrypts (PBKDF2) and restores', async () => {
      const report = await run('dated', [...pgStore([`source: ${dated}`, 'select: { latest: "{date:YYYY-MM-DD}/postgres_backup_{date}.tar.gz.enc" }', 'sha256: { sidecar: true }', decrypt(), 'unpack: { tar: true, member: postgres.dump }']), ...customers]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      const a = report.artefacts[0]!;
      assert.equal(a.selection!.method, 'latest');
      assert.equal(a.selection!.chosen, '2026-03-02/postgres_backup_2026-03-02.tar.gz.enc');
      assert.equal(a.selection!.candidates, 2);
      assert.match(a.selection!.reason!, /newest of 2 dated folder/);
      assert.equal(a.ref, `${dated}/2026-03-02/postgres_backup_2026-03-02.tar.gz.enc`);
      // The evidence names it by what was fetched, never by the run's (deleted) staging dir.
      assert.deepEqual([a.path, report.stores[0]!.steps[0]!.artefact], [a.ref, a.ref]);
      assert.equal(a.source!.integrity.sha256, 'verified');
      assert.equal(a.source!.integrity.from, '2026-03-02/postgres_backup_2026-03-02.tar.gz.enc.sha256');
      assert.equal(a.source!.sha256, (await sh('sha256sum', [join(dated, '2026-03-02/postgres_backup_2026-03-02.tar.gz.enc')])).split(' ')[0]);
      assert.match(a.source!.decryption!, /pbkdf2 sha256 10000 iterations/);
      assert.match(a.encryptionKeyId!, /^pbkdf2-sha256:[0-9a-f]{16}$/);
      assert.equal(a.format, 'custom');
      assert.equal(report.checks[0]!.status, 'passed');
      const staging = report.teardown.resources.find((r) => r.id.includes('-staging-'))!;
      assert.equal(staging.removed, true);
    });

    it('decrypts files written with the legacy key derivation (EVP_BytesToKey, -md md5)', async () => {
      const dir = join(work, 'legacy');
      await datedBackup(dir, '2026-03-02', 'postgres', 'postgres.dump', shopDump, passphrase, { kdf: 'legacy', digest: 'md5' });
      const report = await run('legacy', [...pgStore([`source: ${dir}`, 'select: { explicit: 2026-03-02/postgres_backup_2026-03-02.tar.gz.enc }', decrypt(', kdf: legacy, digest: md5')]), ...customers]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      assert.equal(report.artefacts[0]!.selection!.method, 'explicit');
      assert.match(report.artefacts[0]!.source!.decryption!, /EVP_BytesToKey md5/);
    });

    it('a MANIFEST.json bundle is verified file by file (zstd-compressed tar)', async () => {
      const dir = join(work, 'bundle');
      await mkdir(join(dir, 'data'), { recursive: true });
      await copyFile(shopDump, join(dir, 'data', 'shop.dump'));
      await writeFile(join(dir, 'data', 'config.yaml'), 'tenant: demo\n');
      const digests = (await sh('sha256sum', ['shop.dump', 'config.yaml'], { cwd: join(dir, 'data') })).trim().split('\n').map((l) => l.split(/\s+/));
      await writeFile(join(dir, 'data', 'MANIFEST.json'), JSON.stringify({ version: 1, files: digests.map(([sha256, path]) => ({ path, sha256 })) }, null, 2));
      await sh('tar', ['--zstd', '-cf', join(dir, 'bundle.tar.zst'), '-C', join(dir, 'data'), 'MANIFEST.json', 'shop.dump', 'config.yaml']);
      const report = await run('bundle', [...pgStore([`source: ${join(dir, 'bundle.tar.zst')}`, 'unpack: { manifest: MANIFEST.json, member: shop.dump }']), ...customers]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      assert.deepEqual(report.artefacts[0]!.source!.unpacked, { entries: 3, bytes: report.artefacts[0]!.source!.unpacked!.bytes, member: 'shop.dump', verifiedBy: 'MANIFEST.json', files: 2 });
      assert.equal(report.artefacts[0]!.source!.compression, 'zstd');

      // The same bundle with one file changed after the manifest was written.
      await writeFile(join(dir, 'data', 'config.yaml'), 'tenant: someone-else\n');
      await sh('tar', ['-czf', join(dir, 'tampered.tar.gz'), '-C', join(dir, 'data'), 'MANIFEST.json', 'shop.dump', 'config.yaml']);
      await expectFetchFailure('bundle-tampered', pgStore([`source: ${join(dir, 'tampered.tar.gz')}`, 'unpack: { manifest: MANIFEST.json, member: shop.dump }']), /tampered\.tar\.gz: bundle verification failed: config\.yaml: sha256 [0-9a-f]{64}, MANIFEST\.json says/);
    });

    it('pg_dumpall output, gzip-compressed and encrypted, restores roles and databases', async () => {
      const dir = join(work, 'dumpall');
      await mkdir(dir, { recursive: true });
      const controller = new AbortController();
      const source = await startLocalPostgres({ runId: `${newRunId()}-seed`, drillName: 'dumpall-seed', storeName: 'source', spec: { engine: 'postgres', restore: [] }, drillDir: dir, signal: controller.signal });
      try {
        const psql = async (db: string, sql: string) => {
          const r = await source.exec('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '--dbname', db, '-c', sql]);
          assert.equal(r.exitCode, 0, r.stderr);
        };
        await psql('postgres', 'create role ledger_app login');
        await psql('postgres', 'create database ledger owner ledger_app');
        await psql('ledger', 'create table entries (id int primary key, amount numeric); insert into entries select g, g * 1.5 from generate_series(1, 321) g');
        const r = await source.exec('pg_dumpall', ['--file', join(dir, 'all.sql')]);
        assert.equal(r.exitCode, 0, r.stderr);
      } finally {
        await source.stop();
      }
      await sh('gzip', ['-9', join(dir, 'all.sql')]);
      await opensslEncrypt(join(dir, 'all.sql.gz'), join(dir, 'pg_dumpall_2026-03-02.sql.gz.enc'), passphrase, { kdf: 'pbkdf2', iterations: 100000 });
      const report = await run('dumpall', [
        '  stores:', '    db:', '      engine: postgres', '      restore:',
        `        - artefact: { source: ${dir}, select: { latest: "pg_dumpall_{date:YYYY-MM-DD}.sql.gz.enc" }, ${decrypt(', iterations: 100000')} }`,
        '          format: dumpall',
        '  checks:',
        '    - { id: entries, type: count, store: db, database: ledger, table: entries, expect: { equals: 321 } }',
        '    - { id: role, type: query, store: db, database: ledger, sql: "select count(*) from pg_roles where rolname = \'ledger_app\'", expect: { equals: 1 } }',
      ]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      assert.deepEqual(report.checks.map((c) => c.status), ['passed', 'passed']);
      assert.equal(report.artefacts[0]!.source!.compression, 'gzip');
    });
  });

  describe('bad input: a clear error naming the artefact, exit 1, a report, no staging left', () => {
    const latest = 'select: { latest: "{date:YYYY-MM-DD}/postgres_backup_{date}.tar.gz.enc" }';

    it('a missing dated folder', async () => {
      const empty = join(work, 'no-nights');
      await mkdir(join(empty, 'lost+found'), { recursive: true });
      await expectFetchFailure('no-folder', pgStore([`source: ${empty}`, latest, decrypt()]), /no dated folder matching \{date:YYYY-MM-DD\}\/ under .*no-nights/);
    });

    it('the newest dated folder without this store\'s backup', async () => {
      await expectFetchFailure('missing-store', pgStore([`source: ${dated}`, 'select: { latest: "{date:YYYY-MM-DD}/redis_backup_{date}.tar.gz.enc" }']), /the newest dated folder 2026-03-02\/ has no file matching redis_backup_\{date\}\.tar\.gz\.enc/);
    });

    it('a checksum mismatch', async () => {
      const dir = join(work, 'mismatch');
      const file = await datedBackup(dir, '2026-03-02', 'postgres', 'postgres.dump', shopDump, passphrase);
      await writeFile(`${file}.sha256`, `${'0'.repeat(64)}  postgres_backup_2026-03-02.tar.gz.enc\n`);
      await expectFetchFailure('mismatch', pgStore([`source: ${dir}`, latest, 'sha256: { sidecar: true }', decrypt()]), /postgres_backup_2026-03-02\.tar\.gz\.enc: checksum mismatch: sha256 [0-9a-f]{64}, expected 0{64}/);
    });

    it('a wrong passphrase', async () => {
      await expectFetchFailure('wrong-pass', pgStore([`source: ${dated}`, latest, 'decrypt: { openssl: { passphrase: { env: RP_WRONG_PASS } } }']), /cannot decrypt .*postgres_backup_2026-03-02\.tar\.gz\.enc/);
    });

    it('a truncated ciphertext', async () => {
      const dir = join(work, 'truncated');
      const file = await datedBackup(dir, '2026-03-02', 'postgres', 'postgres.dump', shopDump, passphrase);
      await truncate(file, (await stat(file)).size - 7);
      await expectFetchFailure('truncated', pgStore([`source: ${dir}`, latest, decrypt()]), /cannot decrypt .*: truncated ciphertext/);
    });

    it('a tar with ../etc/passwd', async () => {
      const dir = join(work, 'dotdot');
      await mkdir(join(dir, 'a', 'b'), { recursive: true });
      await mkdir(join(dir, 'a', 'etc'), { recursive: true });
      await writeFile(join(dir, 'a', 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
      await sh('tar', ['-czf', join(dir, 'evil.tar.gz'), '-C', join(dir, 'a', 'b'), '-P', '../etc/passwd']);
      await expectFetchFailure('dotdot', pgStore([`source: ${join(dir, 'evil.tar.gz')}`, 'unpack: { tar: true }']), /evil\.tar\.gz: tar entry \.\.\/etc\/passwd escapes the target dir/);
    });

    it('a symlink escaping the archive', async () => {
      const dir = join(work, 'symlink');
      await mkdir(join(dir, 'src'), { recursive: true });
      await sh('ln', ['-s', '/etc/passwd', join(dir, 'src', 'postgres.dump')]);
      await sh('tar', ['-czf', join(dir, 'link.tar.gz'), '-C', join(dir, 'src'), 'postgres.dump']);
      await expectFetchFailure('symlink', pgStore([`source: ${join(dir, 'link.tar.gz')}`, 'unpack: { tar: true }']), /link\.tar\.gz: tar entry postgres\.dump is a symlink to \/etc\/passwd, outside the archive/);
    });

    it('a decompression bomb beyond the limits', async () => {
      const dir = join(work, 'bomb');
      await mkdir(join(dir, 'src'), { recursive: true });
      await sh('sh', ['-c', `head -c 67108864 /dev/zero > ${join(dir, 'src', 'zeros')} && tar -czf ${join(dir, 'bomb.tar.gz')} -C ${join(dir, 'src')} zeros && rm ${join(dir, 'src', 'zeros')}`]);
      assert.ok((await stat(join(dir, 'bomb.tar.gz'))).size < 1024 * 1024);
      await expectFetchFailure('bomb', pgStore([`source: ${join(dir, 'bomb.tar.gz')}`, 'unpack: { tar: true, maxBytes: 8MiB }']), /bomb\.tar\.gz: unpacks to more than 8388608 bytes/);
    });
  });

  describe('S3 (the test bed\'s MinIO)', () => {
    let minio: StartedStore | undefined;
    let env: Record<string, string>;
    const controller = new AbortController();

    before(async function () {
      requireBackends(this, 'minio');
      minio = await startLocalMinio({ runId: `${newRunId()}-src`, drillName: 'sources', storeName: 'backup-bucket', spec: { engine: 's3', restore: [] }, drillDir: work, signal: controller.signal });
      const client = await s3Client(minio.endpoint);
      await client.makeBucket('backups');
      for (const night of ['2026-03-01', '2026-03-02']) {
        for (const name of await readdir(join(dated, night))) await client.putObject('backups', `nightly/${night}/${name}`, createReadStream(join(dated, night, name)));
      }
      // An `mc mirror` copy of a bucket in a dated prefix.
      for (const night of ['2026-03-01', '2026-03-02']) {
        for (const key of ['avatars/1.png', 'avatars/2.png', `reports/${night}.csv`]) await client.putObject('backups', `minio/${night}/${key}`, Buffer.from(`${night} ${key}`));
      }
      env = { RP_S3_ENDPOINT: `http://127.0.0.1:${minio.endpoint.port}`, RP_S3_KEY: minio.endpoint.user, RP_S3_SECRET: minio.endpoint.password };
      Object.assign(process.env, env);
    });
    after(async () => {
      await minio?.stop();
    });
    const s3 = '{ endpoint: "${RP_S3_ENDPOINT}", accessKey: { env: RP_S3_KEY }, secretKey: { env: RP_S3_SECRET } }';

    it('picks the newest dated prefix, verifies and restores an encrypted dump from S3', async () => {
      const report = await run('s3-dated', [...pgStore(['source: s3://backups/nightly', 'select: { latest: "{date:YYYY-MM-DD}/postgres_backup_{date}.tar.gz.enc" }', 'sha256: { sidecar: true }', decrypt(), `s3: ${s3}`]), ...customers], env);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      const a = report.artefacts[0]!;
      assert.equal(a.selection!.chosen, '2026-03-02/postgres_backup_2026-03-02.tar.gz.enc');
      assert.equal(a.source!.downloaded, true);
      assert.match(a.source!.url, /^s3:\/\/backups\/nightly at http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(a.source!.integrity.sha256, 'verified');
      assert.ok(!JSON.stringify(report).includes(minio!.endpoint.password));
    });

    it('restores a bucket from the newest `mc mirror` prefix, and from a tar.gz of its filesystem copy', async () => {
      const mirror = join(work, 'mirror-copy');
      await mkdir(join(mirror, 'avatars'), { recursive: true });
      await writeFile(join(mirror, 'avatars', '1.png'), 'one');
      await writeFile(join(mirror, 'avatars', '2.png'), 'two');
      await sh('tar', ['-czf', join(work, 'minio_backup_2026-03-02.tar.gz'), '-C', work, 'mirror-copy']);
      const report = await run('s3-mirror', [
        '  stores:', '    files:', '      engine: s3', '      restore:',
        `        - { bucket: assets, artefact: { source: s3://backups/minio, select: { latest: "{date:YYYY-MM-DD}/" }, s3: ${s3} } }`,
        `        - { bucket: archived, artefact: { source: ${join(work, 'minio_backup_2026-03-02.tar.gz')} } }`,
        '  checks:',
        '    - { id: assets, type: objects, store: files, bucket: assets, expect: { count: { equals: 3 } } }',
        '    - { id: report, type: object, store: files, bucket: assets, key: reports/2026-03-02.csv }',
        '    - { id: archived, type: objects, store: files, bucket: archived, expect: { count: { equals: 2 } } }',
      ], env);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      assert.deepEqual(report.checks.map((c) => c.status), ['passed', 'passed', 'passed']);
      assert.equal(report.artefacts[0]!.selection!.chosen, '2026-03-02/');
      assert.equal(report.artefacts[0]!.kind, 'directory');
    });

    it('bad input: an S3 prefix with no objects', async () => {
      await expectFetchFailure('s3-empty', pgStore(['source: s3://backups/nothing-here/', `s3: ${s3}`]), /s3:\/\/backups\/nothing-here: no objects at s3:\/\/backups\/nothing-here/);
    });
  });

  describe('age files (written by the real age CLI)', () => {
    let dir: string;
    let identity: string;
    let recipient: string;
    before(async function () {
      requireBackends(this, 'age');
      dir = join(work, 'age');
      await mkdir(dir, { recursive: true });
      await sh('age-keygen', ['-o', join(dir, 'key.txt')]);
      identity = await readFile(join(dir, 'key.txt'), 'utf8');
      recipient = (await sh('age-keygen', ['-y', join(dir, 'key.txt')])).trim();
      await sh('tar', ['-czf', join(dir, 'postgres.tar.gz'), '-C', join(shopDump, '..'), shopDump.split('/').at(-1)!]);
      await ageEncryptTo(join(dir, 'postgres.tar.gz'), join(dir, 'postgres.tar.gz.age'), recipient);
      await ageEncryptWithPassphrase(shopDump, join(dir, 'shop.dump.age'), passphrase);
      process.env.RP_AGE_IDENTITY = identity;
    });
    after(() => {
      delete process.env.RP_AGE_IDENTITY;
    });
    const ageStore = (file: string, how: string) => pgStore([`source: ${join(dir, file)}`, `decrypt: { age: { ${how} } }`]);

    it('decrypts with an identity (X25519) as a stream and restores; the evidence names the recipient, never the key', async () => {
      const report = await run('age-identity', [...ageStore('postgres.tar.gz.age', 'identity: { env: RP_AGE_IDENTITY }'), ...customers]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      const a = report.artefacts[0]!;
      assert.equal(a.source!.decryption, 'age (X25519 identity)');
      assert.equal(a.encryptionKeyId, recipient);
      assert.equal(a.source!.compression, 'gzip');
      assert.ok(!JSON.stringify(report).includes(identity.match(/AGE-SECRET-KEY-\S+/)![0]), 'the identity leaked into the report');
    });

    it('decrypts a file written with age --passphrase', async () => {
      const report = await run('age-passphrase', [...ageStore('shop.dump.age', 'passphrase: { env: RP_BACKUP_PASS }'), ...customers]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      assert.equal(report.artefacts[0]!.source!.decryption, 'age (scrypt passphrase)');
      assert.match(report.artefacts[0]!.encryptionKeyId!, /^pbkdf2-sha256:[0-9a-f]{16}$/);
    });

    it('bad input: another identity, a wrong passphrase, a truncated file, a file that is not age', async () => {
      await sh('age-keygen', ['-o', join(dir, 'other.txt')]);
      process.env.RP_AGE_OTHER = await readFile(join(dir, 'other.txt'), 'utf8');
      await expectFetchFailure('age-other', ageStore('postgres.tar.gz.age', 'identity: { env: RP_AGE_OTHER }'), /cannot decrypt .*postgres\.tar\.gz\.age: wrong identity \(no identity matched/);
      await expectFetchFailure('age-wrong-pass', ageStore('shop.dump.age', 'passphrase: { env: RP_WRONG_PASS }'), /cannot decrypt .*shop\.dump\.age: wrong passphrase/);
      await copyFile(join(dir, 'postgres.tar.gz.age'), join(dir, 'cut.tar.gz.age'));
      await truncate(join(dir, 'cut.tar.gz.age'), (await stat(join(dir, 'cut.tar.gz.age'))).size - 100);
      await expectFetchFailure('age-truncated', ageStore('cut.tar.gz.age', 'identity: { env: RP_AGE_IDENTITY }'), /cannot decrypt .*cut\.tar\.gz\.age: the age payload does not authenticate .*truncated or was altered/);
      await expectFetchFailure('age-not-age', ageStore('postgres.tar.gz', 'identity: { env: RP_AGE_IDENTITY }'), /cannot decrypt .*postgres\.tar\.gz: not an age file/);
      delete process.env.RP_AGE_OTHER;
    });
  });

  describe('SFTP (a test-owned sshd on loopback)', () => {
    let sshd: ChildProcess | undefined;
    let dir: string;
    let port: number;
    let knownHosts: string;

    before(async function () {
      requireBackends(this, 'sshd');
      const binary = (testbed().backends.sshd as { server: string }).server;
      dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-sshd-'));
      await chmod(dir, 0o700);
      await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
      await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client_key')]);
      await copyFile(join(dir, 'client_key.pub'), join(dir, 'authorized_keys'));
      port = await freePort();
      await writeFile(join(dir, 'sshd_config'), [
        `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no',
        'PermitRootLogin prohibit-password', 'StrictModes no', 'Subsystem sftp internal-sftp', 'MaxSessions 64', 'MaxStartups 64', '',
      ].join('\n'));
      await mkdir('/run/sshd', { recursive: true });
      sshd = spawn(binary, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      await waitForPort(port);
      knownHosts = `[127.0.0.1]:${port} ${(await readFile(join(dir, 'host_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ')}`;
    });
    after(async () => {
      sshd?.kill();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const sftpStore = (hosts: string) => pgStore([
      `source: "sftp://root@127.0.0.1:${port}${dated}"`,
      'select: { latest: "{date:YYYY-MM-DD}/postgres_backup_{date}.tar.gz.enc" }',
      'sha256: { sidecar: true }', decrypt(),
      `ssh: { knownHosts: "${hosts}", key: { file: ${join(dir, 'client_key')} } }`,
    ]);

    it('fetches the newest night over SFTP with the host key checked', async () => {
      const report = await run('sftp', [...sftpStore(knownHosts), ...customers]);
      assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
      assert.equal(report.artefacts[0]!.selection!.chosen, '2026-03-02/postgres_backup_2026-03-02.tar.gz.enc');
      assert.equal(report.artefacts[0]!.source!.url, `sftp://root@127.0.0.1:${port}${dated}`);
    });

    it('bad input: an SFTP host key that changed', async () => {
      await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other_key')]);
      const other = `[127.0.0.1]:${port} ${(await readFile(join(dir, 'other_key.pub'), 'utf8')).split(' ').slice(0, 2).join(' ')}`;
      const report = await expectFetchFailure('sftp-hostkey', sftpStore(other), /the host key of 127\.0\.0\.1:\d+ changed: the server offered SHA256:/, 'preflight');
      assert.equal(report.errors[0]!.code, 'E_HOST_KEY');
    });
  });
});

function waitForPort(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const attempt = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (++tries > 200) reject(new Error(`sshd did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}
