import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { RunReport } from '../../src/report/types.ts';
import { sha256 } from '../../src/util/hash.ts';
import { requireBackends } from '../support/backends.ts';
import { assertValidReport, demoBackups, runCli } from '../support/fixtures.ts';
import { filesUnder, noAudit, runAndRead, shopVariant } from './helpers.ts';

/** Changes one byte of a JSON file inside a string value, so it stays valid JSON. */
async function flipOneByte(file: string, after = '"hostname": "') {
  const bytes = await readFile(file);
  const at = bytes.indexOf(after) + Buffer.byteLength(after);
  assert.ok(at > after.length, `${after} not in ${file}`);
  bytes[at] = bytes[at] === 0x78 ? 0x79 : 0x78; // x <-> y
  await writeFile(file, bytes);
}

describe('evidence: signed reports, verify, the history chain and reviews (real runs)', function () {
  let work: string;
  let reports: string;
  let key: string;
  let env: Record<string, string>;
  const runs: RunReport[] = [];
  let drillFile: string;

  before(async function () {
    requireBackends(this, 'postgres');
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-evidence-'));
    reports = join(work, 'reports');
    key = join(work, 'signing.key');
    const keygen = await runCli(['keygen', '--out', key]);
    assert.equal(keygen.code, 0, keygen.stderr);
    env = { RESTOREPROOF_FIXTURES: (await demoBackups()).dir, RESTOREPROOF_SIGNING_KEY_FILE: key };
    drillFile = await shopVariant(work, 'ledger', { spec: ['  objectives:', '    rto: 1h'] });
    for (let i = 0; i < 3; i++) {
      const { result, report } = await runAndRead(drillFile, reports, env);
      assert.equal(result.code, 0, result.stderr);
      runs.push(report);
    }
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const verify = (...args: string[]) => runCli(['verify', ...args], { env: { RESTOREPROOF_SIGNING_KEY_FILE: '', RESTOREPROOF_HISTORY: '' } });
  const historyCopy = async () => {
    const dir = await mkdtemp(join(work, 'history-'));
    await cp(join(reports, 'history'), dir, { recursive: true });
    return join(dir, 'ledger');
  };
  const reportsCopy = async () => {
    const dir = await mkdtemp(join(work, 'reports-'));
    await cp(reports, dir, { recursive: true });
    return dir;
  };

  it('keygen writes a 0600 PKCS#8 private key and an SPKI public key, and never overwrites', async () => {
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    assert.match(await readFile(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.match(await readFile(`${key}.pub`, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    const before = await readFile(key);
    const again = await runCli(['keygen', '--out', key]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists/);
    assert.deepEqual(await readFile(key), before);
    assert.equal((await runCli(['keygen'])).code, 2);
  });

  it('artefacts are named relative to the drill, plus the host they were read on (schema 1.3)', async () => {
    for (const a of runs[0]!.artefacts) {
      assert.ok(!isAbsolute(a.path) && !a.path.includes('\\'), a.path);
      assert.equal(sha256(await readFile(resolve(dirname(drillFile), a.path))), a.sha256, `${a.path} from the drill's directory is the artefact`);
      assert.equal(a.host, hostname());
    }
  });

  it('every run writes the 1.3 evidence: scope, environment, timeline, RTO by phase, check digests, chain', () => {
    const [first, second, third] = runs as [RunReport, RunReport, RunReport];
    assert.equal(first.schemaVersion, '1.5');
    assert.deepEqual(first.scope, { stores: [{ name: 'app', engine: 'postgres', version: first.stores[0]!.version }], controls: ['SOC2:A1.3'] });
    assert.equal(first.environment!.runtime, 'local');
    assert.match(first.environment!.isolation, /127\.0\.0\.1/);
    assert.deepEqual(first.timeline!.map((t) => (t.store ? `${t.phase}:${t.store}` : t.phase)), ['load', 'preflight', 'verify', 'provision', 'restore', 'restore:app', 'checks', 'teardown']);
    assert.ok(first.timeline!.every((t) => t.startedAt.endsWith('Z') && t.endedAt >= t.startedAt));
    assert.deepEqual(first.objectives.rto!.phases!.map((p) => p.store ?? p.phase), ['load', 'preflight', 'verify', 'provision', 'restore', 'app', 'checks']);
    assert.ok(first.checks.every((c) => /^[0-9a-f]{64}$/.test(c.digest!)));
    assert.equal(new Set(first.checks.map((c) => c.digest)).size, first.checks.length);
    assert.deepEqual(first.checks.map((c) => c.digest), second.checks.map((c) => c.digest), 'same spec and output, same digest');
    assert.deepEqual(first.artefacts.map((a) => [a.selection, a.backupTime === (a.pointInTime?.at ?? a.modifiedAt)]), [[{ method: 'explicit' }, true], [{ method: 'explicit' }, true]]);
    assert.equal(first.baselines![0]!.checks.join(), 'shop-baseline,shop-schema');
    assert.match(first.baselines![0]!.consistency!, /READ ONLY/);
    assert.deepEqual(first.result, { status: 'passed', stores: [{ name: 'app', status: 'passed', restore: 'passed', checks: { passed: 4, failed: 0, warned: 0, skipped: 0 } }] });
    assert.equal(first.reports.envelope, `${first.runId}.dsse.json`);
    assert.equal(first.reports.compliance, `${first.runId}.compliance.html`);
    assert.deepEqual([first.sequence, first.previous], [1, null]);
    assert.deepEqual([second.sequence, second.previous?.runId, third.sequence, third.previous?.runId], [2, first.runId, 3, second.runId]);
  });

  it('the previous link is the sha256 of the previous report file, as stored in the history', async () => {
    const history = join(reports, 'history', 'ledger');
    assert.equal(runs[1]!.previous!.sha256, sha256(await readFile(join(history, `${runs[0]!.runId}.json`))));
    assert.deepEqual(await readFile(join(history, `${runs[2]!.runId}.json`)), await readFile(join(reports, `${runs[2]!.runId}.json`)));
  });

  it('the envelope is an in-toto Statement over the report files and artefacts, with a test-result predicate', async () => {
    const run = runs[2]!;
    const envelope = JSON.parse(await readFile(join(reports, run.reports.envelope!), 'utf8'));
    assert.equal(envelope.payloadType, 'application/vnd.in-toto+json');
    assert.match(envelope.signatures[0].keyid, /^[0-9a-f]{64}$/);
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
    assert.equal(statement.predicateType, 'https://in-toto.io/attestation/test-result/v0.1');
    assert.equal(statement.predicate.result, 'PASSED');
    assert.deepEqual(statement.predicate.failedTests, []);
    assert.ok(statement.predicate.passedTests.includes('shop-schema'));
    const names = statement.subject.map((s: { name: string }) => s.name);
    for (const kind of ['json', 'junit', 'markdown', 'html', 'mochawesomeJson', 'compliance'] as const) assert.ok(names.includes(run.reports[kind]), kind);
    for (const a of run.artefacts) assert.ok(statement.subject.some((s: { name: string; digest: { sha256: string } }) => s.name === a.path && s.digest.sha256 === a.sha256));
    const json = statement.subject.find((s: { name: string }) => s.name === `${run.runId}.json`);
    assert.equal(json.digest.sha256, sha256(await readFile(join(reports, `${run.runId}.json`))));
  });

  it('verify passes on a signed report and on its envelope, and checks the chain beside it', async () => {
    const report = join(reports, `${runs[2]!.runId}.json`);
    for (const target of [report, join(reports, runs[2]!.reports.envelope!)]) {
      const result = await verify(target, '--key', `${key}.pub`);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /ok +signature .*valid Ed25519 signature/);
      assert.match(result.stdout, /ok +digests +6 report file\(s\) match/);
      assert.match(result.stdout, /ok +chain .*3 run\(s\), chain intact; this run is #3/);
      assert.match(result.stdout, /^VERIFIED$/m);
    }
  });

  it('verify --history passes on an intact history', async () => {
    const result = await verify('--history', join(reports, 'history'), '--key', `${key}.pub`);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /chain intact/);
    assert.match(result.stdout, /3 signed run\(s\) verified/);
  });

  it('one changed byte in the evidence fails verify, naming the file', async () => {
    const dir = await reportsCopy();
    const run = runs[2]!;
    await flipOneByte(join(dir, `${run.runId}.json`));
    const result = await verify(join(dir, `${run.runId}.json`), '--key', `${key}.pub`);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, new RegExp(`FAIL +digests +${run.runId}\\.json: sha256 \\w+…, but the signed statement says \\w+…: edited after signing`));
    assert.match(result.stdout, new RegExp(`FAIL +chain +run ${run.runId}: the report differs from its copy in the history`));
    assert.match(result.stdout, /NOT VERIFIED/);
  });

  it('a changed Markdown summary or a changed envelope fails verify, naming the cause', async () => {
    const dir = await reportsCopy();
    const run = runs[1]!;
    await writeFile(join(dir, run.reports.markdown!), `${await readFile(join(dir, run.reports.markdown!), 'utf8')} `);
    let result = await verify(join(dir, `${run.runId}.json`), '--key', `${key}.pub`);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`FAIL +digests +${run.runId}\\.md: .*edited after signing`));

    const envelopeFile = join(dir, run.reports.envelope!);
    const envelope = JSON.parse(await readFile(envelopeFile, 'utf8'));
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.predicate.result = 'FAILED';
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(envelopeFile, JSON.stringify(envelope));
    result = await verify(envelopeFile, '--key', `${key}.pub`);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL +signature .*does not verify: the envelope was altered after signing/);
  });

  it('a foreign key, or no key at all, fails the signature check', async () => {
    const other = join(work, 'other.key');
    assert.equal((await runCli(['keygen', '--out', other])).code, 0);
    const report = join(reports, `${runs[0]!.runId}.json`);
    let result = await verify(report, '--key', `${other}.pub`);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL +signature .*signed by key [0-9a-f]+, not by the given key/);
    result = await verify(report);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /FAIL +signature .*no public key given .*--key/);
    assert.equal((await verify()).code, 2);
    assert.equal((await verify(join(work, 'no-such-report.json'))).code, 2);
  });

  it('verify --history names a run deleted from the history', async () => {
    const history = await historyCopy();
    const gone = runs[1]!.runId;
    await rm(join(history, `${gone}.json`));
    await rm(join(history, `${gone}.dsse.json`));
    const result = await verify('--history', history, '--key', `${key}.pub`);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, new RegExp(`FAIL +chain +run ${gone} \\(sequence 2\\) is missing: deleted from the history \\(run ${runs[2]!.runId} chains to it`));
    // The report of the deleted run, checked against that history, says so too.
    const own = await verify(join(reports, `${gone}.json`), '--key', `${key}.pub`, '--history', history);
    assert.equal(own.code, 1);
    assert.match(own.stdout, new RegExp(`run ${gone} is not in the history .*deleted from it`));
  });

  it('verify --history names two swapped runs', async () => {
    const history = await historyCopy();
    const [a, b] = [runs[0]!.runId, runs[1]!.runId];
    await rename(join(history, `${a}.json`), join(history, 'tmp'));
    await rename(join(history, `${b}.json`), join(history, `${a}.json`));
    await rename(join(history, 'tmp'), join(history, `${b}.json`));
    const result = await verify('--history', history, '--key', `${key}.pub`);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, new RegExp(`FAIL +chain +run ${a}: ${a}\\.json holds run ${b}: runs were swapped or renamed \\(history reordered\\)`));
    assert.match(result.stdout, new RegExp(`FAIL +chain +run ${b}: ${b}\\.json holds run ${a}: runs were swapped`));
  });

  it('verify --history names two runs swapped with their signatures, and what each signature signs', async () => {
    const history = await historyCopy();
    const [a, b] = [runs[0]!.runId, runs[1]!.runId];
    for (const ext of ['json', 'dsse.json']) {
      await rename(join(history, `${a}.${ext}`), join(history, 'tmp'));
      await rename(join(history, `${b}.${ext}`), join(history, `${a}.${ext}`));
      await rename(join(history, 'tmp'), join(history, `${b}.${ext}`));
    }
    const result = await verify('--history', history, '--key', `${key}.pub`);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, new RegExp(`FAIL +signature +run ${a}: ${a}\\.dsse\\.json signs ${b}\\.json \\(sha256 [0-9a-f]{12}…\\), not ${a}\\.json: runs were swapped or renamed`));
    assert.match(result.stdout, new RegExp(`FAIL +signature +run ${b}: ${b}\\.dsse\\.json signs ${a}\\.json \\(sha256 [0-9a-f]{12}…\\)`));
    assert.doesNotMatch(result.stdout, /says …/);
  });

  it('verify --history names an edited run, in the middle (chain) and at the head (signature)', async () => {
    const history = await historyCopy();
    await flipOneByte(join(history, `${runs[0]!.runId}.json`));
    await flipOneByte(join(history, `${runs[2]!.runId}.json`));
    const result = await verify('--history', history, '--key', `${key}.pub`);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, new RegExp(`FAIL +chain +run ${runs[0]!.runId} was edited: its file's sha256 is \\w+…, but run ${runs[1]!.runId} recorded \\w+…`));
    assert.match(result.stdout, new RegExp(`FAIL +signature +run ${runs[2]!.runId} was edited after signing`));
    // Without the key only the chain speaks: the head's edit needs the signature.
    const unsigned = await verify('--history', history);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stdout, /- +signature +signatures not checked/);
  });

  it('review appends signed sign-off records and never edits the report', async () => {
    const run = runs[0]!;
    const reportFile = join(reports, `${run.runId}.json`);
    const before = await readFile(reportFile);
    const first = await runCli(['review', reportFile, '--reviewer', 'Alice Auditor', '--corrective-action', 'raise pg_restore --jobs', '--corrective-action', 'alert on RTO', '--ticket', 'OPS-42', '--key', key], noAudit);
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(['review', reportFile, '--reviewer', 'Bob', '--key', key], noAudit);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(await readFile(reportFile), before);
    const written = first.stdout.trim().split('\n');
    assert.deepEqual(written.map((f) => f.replace(work, '')), [`/reports/${run.runId}.review-1.dsse.json`, `/reports/history/ledger/${run.runId}.review-1.dsse.json`]);
    assert.ok(existsSync(join(reports, `${run.runId}.review-2.dsse.json`)));
    const statement = JSON.parse(Buffer.from(JSON.parse(await readFile(written[0]!, 'utf8')).payload, 'base64').toString('utf8'));
    assert.equal(statement.predicateType, 'https://restoreproof.dev/attestation/review/v1');
    assert.deepEqual(statement.subject[0].digest, { sha256: sha256(before) });
    assert.deepEqual([statement.predicate.reviewer, statement.predicate.correctiveActions, statement.predicate.ticket, statement.predicate.result], ['Alice Auditor', ['raise pg_restore --jobs', 'alert on RTO'], 'OPS-42', 'passed']);
    assert.ok(!('review' in JSON.parse(before.toString())), 'sign-off is not part of the evidence document');

    const result = await verify(reportFile, '--key', `${key}.pub`);
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /ok +reviews +.*review-1\.dsse\.json: sign-off by Alice Auditor at .*, ticket OPS-42, signature valid/);
    assert.match(result.stdout, /ok +reviews +.*review-2\.dsse\.json: sign-off by Bob/);
    assert.equal((await runCli(['review', reportFile, '--key', key])).code, 2, 'a reviewer is required');
  });

  it('the schema validates every report the runs wrote, in the report dir and in the history', async () => {
    const files = (await filesUnder(reports)).filter((f) => /\/\d{8}T\d{6}Z-[0-9a-f]{6}\.json$/.test(f));
    assert.equal(files.length, 6);
    for (const file of files) assertValidReport(JSON.parse(await readFile(file, 'utf8')));
    assert.equal((await readdir(join(reports, 'history'))).join(), 'ledger');
  });
});
