// A generator whose backups need a key (an HMAC key, an AES key, an archive passphrase) makes one
// when its variable is unset and prints the export line, instead of a stack trace; the drill then
// passes with that value.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testbedBinaryVars } from '../../scripts/lib/testbed-env.ts';
import { requireBackends, testbed } from '../support/backends.ts';
import { runCommand } from '../support/fixtures.ts';


describe('scenario generators without their secret', function () {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-generator-secrets-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const cases = [
    { generator: 'alexandria', variable: 'ALEXANDRIA_AUDIT_KEY', value: /^[\w-]{32}$/, backends: ['postgres'] },
    { generator: 'gocdnext', variable: 'GOCDNEXT_SECRET_KEY', value: /^[A-Za-z0-9+/]{43}=$/, backends: ['postgres'] },
    { generator: 'opencrvs', variable: 'OPENCRVS_BACKUP_PASSPHRASE', value: /^[\w-]{32}$/, backends: ['postgres', 'mongo'] },
  ];
  const made: Record<string, { dir: string; value: string }> = {};

  for (const { generator, variable, value, backends } of cases) {
    it(`${generator}: ${variable} unset makes a key and prints its export line, no stack trace`, async function () {
      requireBackends(this, ...backends);
      const dir = join(work, generator);
      const env = { ...process.env, ...testbedBinaryVars(testbed()), [variable]: undefined };
      const result = await runCommand(process.execPath, [`scripts/scenarios/${generator}.ts`, '--out', dir], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.match(result.stderr, new RegExp(`^${variable} is not set: made a new .*; set it before running it:$`, 'm'));
      const exported = new RegExp(`^export ${variable}='([^']*)'\\n$`).exec(result.stdout);
      assert.ok(exported, `stdout: ${result.stdout}`);
      assert.match(exported[1]!, value);
      made[generator] = { dir, value: exported[1]! };
    });
  }

  it('gocdnext: the drill decrypts the secrets with the printed key', async function () {
    requireBackends(this, 'postgres', 'minio');
    assert.ok(made.gocdnext, 'the gocdnext generator did not run (see above)');
    const { dir, value } = made.gocdnext;
    const env = { ...process.env, ...testbedBinaryVars(testbed()), GOCDNEXT_BACKUPS: dir, GOCDNEXT_SECRET_KEY: value };
    const result = await runCommand(process.execPath, ['bin/restoreproof.js', 'run', 'drills/examples/gocdnext.yaml', '--runtime', 'local', '--report-dir', join(work, 'reports')], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /✓ secrets-decrypt/);
  });
});
