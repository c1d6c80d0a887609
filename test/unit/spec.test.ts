import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDrill, parseDrill, validateDrill } from '../../src/drill/load.ts';
import { DrillConfigError } from '../../src/errors.ts';
import { planDrill } from '../../src/run/plan.ts';
import { fixtureDrill } from '../support/fixtures.ts';

const valid = `apiVersion: restoreproof/v1
kind: RestoreDrill
metadata:
  name: ok
spec:
  stores:
    db:
      engine: postgres
      restore:
        - artefact: \${DUMP_DIR:-/backups}/app.dump
          database: app
`;

function issuesOf(text: string, env: Record<string, string> = {}) {
  try {
    parseDrill(text, 'drill.yaml', { env });
  } catch (err) {
    assert.ok(err instanceof DrillConfigError, String(err));
    return err.issues;
  }
  assert.fail('expected a DrillConfigError');
}

describe('drill spec', () => {
  it('loads a valid drill and interpolates ${VAR:-default}', () => {
    const drill = parseDrill(valid, 'drill.yaml', { env: {} });
    assert.equal(drill.document.spec.stores.db!.restore[0]!.artefact, '/backups/app.dump');
    assert.match(drill.sha256, /^[0-9a-f]{64}$/);
    assert.equal(parseDrill(valid, 'drill.yaml', { env: { DUMP_DIR: '/mnt' } }).document.spec.stores.db!.restore[0]!.artefact, '/mnt/app.dump');
  });

  it('takes the sha256 over the file bytes (a BOM and CRLF line ends included) and still loads it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'restoreproof-test-spec-'));
    try {
      const bytes = Buffer.from(`\ufeff${valid.replace(/\n/g, '\r\n')}`);
      await writeFile(join(dir, 'bom.yaml'), bytes);
      const drill = await loadDrill(join(dir, 'bom.yaml'), { env: {} });
      assert.equal(drill.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.equal(drill.document.metadata.name, 'ok');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports an unset variable with its position', () => {
    const issues = issuesOf(valid.replace('${DUMP_DIR:-/backups}', '${DUMP_DIR}'));
    assert.equal(issues.length, 1);
    assert.deepEqual([issues[0]!.line, issues[0]!.col], [10, 21]);
    assert.match(issues[0]!.message, /DUMP_DIR is not set/);
  });

  it('reports a YAML syntax error with file:line:col', async () => {
    const issues = await validateDrill(fixtureDrill('bad-syntax.yaml'));
    assert.equal(issues.length >= 1, true);
    assert.match(issues[0]!.message, /YAML syntax error/);
    assert.equal(issues[0]!.line, 10);
  });

  it('names an unknown key, its line, and the likely intended key', async () => {
    const issues = await validateDrill(fixtureDrill('unknown-key.yaml'));
    assert.equal(issues.length, 1);
    const [issue] = issues;
    assert.deepEqual([issue!.line, issue!.col, issue!.path], [12, 11, 'spec.stores.app.restore[0].jbos']);
    assert.match(issue!.message, /unknown key "jbos" \(did you mean "jobs"\?\)/);
  });

  it('collects every schema violation in one pass, each with its line', async () => {
    const issues = await validateDrill(fixtureDrill('schema-violations.yaml'));
    const byPath = new Map(issues.map((i) => [i.path, i]));
    assert.equal(byPath.get('metadata.name')?.line, 4);
    assert.equal(byPath.get('spec.stores.app.restore[0].format')?.line, 12);
    assert.match(byPath.get('spec.stores.app.restore[0].format')!.message, /custom/);
    assert.equal(byPath.get('spec.checks[0].expect.min')?.line, 17);
    assert.ok(issues.length >= 3);
  });

  it('checks cross-references once the schema holds', () => {
    const issues = issuesOf(`${valid}  checks:\n    - type: count\n      store: nope\n      table: t\n      expect: { min: 1 }\n`);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.line, 14);
    assert.match(issues[0]!.message, /unknown store "nope"; stores: db/);
  });

  it('requires a database except for pg_dumpall files', () => {
    const issues = issuesOf(valid.replace('          database: app\n', ''));
    assert.match(issues[0]!.message, /database is required unless format is dumpall/);
  });

  it('fetch: pod is for one S3 object that a postgres store restores as it is, on kubernetes', () => {
    const withArtefact = (artefact: string, runtime = '') => valid.replace('spec:\n', `spec:\n${runtime}`).replace('artefact: ${DUMP_DIR:-/backups}/app.dump', `artefact: ${artefact}`);
    assert.equal(parseDrill(withArtefact('{ source: s3://b/app.dump, fetch: pod }', '  runtime: kubernetes\n'), 'drill.yaml').document.metadata.name, 'ok');
    const bad = issuesOf(withArtefact('{ source: /backups/app.tar.gz, fetch: pod, unpack: { tar: true }, decrypt: { age: { passphrase: { env: P } } } }', '  runtime: containers\n'));
    assert.deepEqual(bad.map((i) => [i.path, i.line]), [
      ['spec.stores.db.restore[0].artefact.source', 11],
      ['spec.stores.db.restore[0].artefact.decrypt', 11],
      ['spec.stores.db.restore[0].artefact.unpack', 11],
      ['spec.stores.db.restore[0].artefact.fetch', 11],
    ]);
    assert.match(bad[0]!.message, /fetch: pod needs an s3:\/\/ source/);
    assert.match(bad[3]!.message, /fetch: pod needs the kubernetes runtime .* this drill runs on containers/);
    const redis = issuesOf(valid.replace('engine: postgres', 'engine: redis').replace(/- artefact: .*\n.*database: app\n/, '- artefact: { source: s3://b/dump.rdb, fetch: pod }\n'));
    assert.match(redis.find((i) => i.path?.endsWith('.fetch'))!.message, /restores postgres dumps only; this store is redis/);
  });

  it('spec.network.egress is a boolean, and the plan says what the run may reach on each runtime', async () => {
    const withNetwork = (network: string) => valid.replace('spec:\n', `spec:\n  network: ${network}\n`);
    assert.equal(parseDrill(withNetwork('{ egress: true }'), 'drill.yaml').document.spec.network?.egress, true);
    const bad = issuesOf(withNetwork('{ egress: yes-please, ingress: true }'));
    assert.deepEqual(bad.map((i) => [i.path, i.line]).sort(), [['spec.network.egress', 6], ['spec.network.ingress', 6]]);
    const networkLine = async (network: string, runtime: 'local' | 'containers') =>
      (await planDrill(parseDrill(withNetwork(network), 'drill.yaml'), { runtime })).find((l) => l.trim().startsWith('network:'));
    assert.match((await networkLine('{}', 'containers'))!, /no egress: the run's network is internal/);
    assert.match((await networkLine('{ egress: true }', 'containers'))!, /egress allowed \(spec.network.egress: true\)/);
    assert.match((await networkLine('{}', 'local'))!, /not isolated/);
  });

  it('rejects an invalid regular expression', () => {
    const issues = issuesOf(`${valid}  checks:\n    - type: query\n      store: db\n      sql: select 1\n      expect: { matches: "([" }\n`);
    assert.match(issues[0]!.message, /invalid regular expression/);
  });

  it('every shipped drill is valid', async () => {
    const { readdir } = await import('node:fs/promises');
    const dir = new URL('../../drills/', import.meta.url).pathname;
    for (const f of (await readdir(dir)).filter((n) => n.endsWith('.yaml'))) {
      assert.deepEqual(await validateDrill(dir + f), [], f);
    }
  });

  it('a missing file is a config error naming it', async () => {
    await assert.rejects(loadDrill('nope.yaml'), (err: DrillConfigError) => err.exitCode === 2 && /nope\.yaml: file not found/.test(err.message));
  });
});
