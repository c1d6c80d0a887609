import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mutateDrill } from '../../src/run/run.ts';
import type { MutantRecord, RunReport } from '../../src/report/types.ts';
import { opensslEncrypt } from '../support/source-backups.ts';
import { requireBackends } from '../support/backends.ts';
import { assertValidReport, demoBackups, processesMatching } from '../support/fixtures.ts';
import type { DemoBackups } from '../../scripts/lib/demo-backups.ts';
import { runDirsNamed } from '../support/run-dirs.ts';

/** sha256 and modification time: what a mutation run must leave exactly as it was. */
async function fingerprint(path: string): Promise<{ sha256: string; mtimeMs: number; size: number }> {
  const { mtimeMs, size } = await stat(path);
  return { sha256: createHash('sha256').update(await readFile(path)).digest('hex'), mtimeMs, size };
}

describe('mutate: a mutation score over real PostgreSQL (local runtime)', function () {
  let fixtures: DemoBackups;
  let work: string;
  let env: Record<string, string | undefined>;
  const passphrase = 'mutate-test passphrase';

  before(async function () {
    requireBackends(this, 'postgres');
    fixtures = await demoBackups();
    env = { ...process.env, RESTOREPROOF_FIXTURES: fixtures.dir, RP_MUTATE_PASS: passphrase };
    process.env.RP_MUTATE_PASS = passphrase; // the fetch reads secrets from the process environment
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-mutate-'));
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function mutate(name: string, spec: string[]): Promise<RunReport> {
    const file = join(work, `${name}.yaml`);
    await writeFile(file, ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:', '  runtime: local', ...spec].join('\n'));
    const report = await mutateDrill(file, { reportDir: join(work, 'reports'), env });
    assertValidReport(report);
    assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), [], 'no server or staging dir is left, the damaged copies included');
    assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), [], 'no server is left, the artefact mutants\' included');
    return report;
  }

  describe('a weak drill (one count with min 1)', () => {
    let report: RunReport;
    let source: Awaited<ReturnType<typeof fingerprint>>;
    let encrypted: string;

    before(async () => {
      // An encrypted source, so the wrong-key mutant has a decryption to get wrong.
      encrypted = join(work, 'shop.dump.enc');
      await opensslEncrypt(fixtures.shopDump, encrypted, passphrase, { kdf: 'pbkdf2' });
      source = await fingerprint(encrypted);
      report = await mutate('weak', [
        '  stores:',
        '    app:',
        '      engine: postgres',
        '      restore:',
        `        - { artefact: { source: ${encrypted}, decrypt: { openssl: { passphrase: { env: RP_MUTATE_PASS } } } }, database: shop }`,
        '  checks:',
        '    - { id: some-customers, type: count, store: app, table: public.customers, expect: { min: 1 } }',
      ]);
    });

    it('passes as a drill but scores below the minimum, so mutate exits 1', () => {
      const m = report.mutation!;
      assert.equal(m.status, 'scored', m.reason);
      assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['some-customers', 'passed']]);
      assert.ok(m.score !== null && m.score < m.minScore, `score ${m.score}`);
      assert.equal(m.verdict, 'failed');
      assert.equal(report.exitCode, 1);
      assert.equal(m.minScore, 0.9);
      assert.deepEqual(m.stores.map((s) => [s.name, s.total]), [['app', m.total]]);
    });

    it('names each survivor with what it did and the check that would notice it', () => {
      const survivors = report.mutation!.mutants.filter((x) => x.status === 'survived');
      assert.ok(survivors.length > 0);
      for (const s of survivors) {
        assert.match(s.id, /^[a-z-]+:/);
        assert.ok(s.description.length > 0 && s.hint.length > 0, s.id);
      }
      // The one check counts customers with min 1: no damage that leaves a customer is noticed.
      assert.ok(survivors.some((s) => s.store === 'app'));
    });

    it('the Markdown summary and the compliance page show the score and the survivors', async () => {
      const m = report.mutation!;
      const dir = join(work, 'reports');
      const catches = `this drill catches ${m.killed} of ${m.total - m.accepted - m.notRun} kinds of damage`;
      const markdown = await readFile(join(dir, report.reports.markdown!), 'utf8');
      assert.ok(markdown.includes(catches), markdown);
      const survivor = m.mutants.find((x) => x.status === 'survived')!;
      assert.ok(markdown.includes(`- \`${survivor.id}\`: ${survivor.description} was not noticed: ${survivor.hint}`));
      const html = await readFile(join(dir, report.reports.compliance!), 'utf8');
      assert.ok(html.includes(catches) && html.includes('id="mutants"'));
    });

    it('damages run-owned copies of the artefact: truncation is noticed by the restore, a wrong key by the fetch, and the source is unchanged', async () => {
      const artefactMutants = report.mutation!.mutants.filter((x) => x.kind.endsWith('-artefact'));
      assert.deepEqual(artefactMutants.map((x) => x.id), ['truncate:app/restore[0]', 'flip-byte:app/restore[0]', 'wrong-key:app/restore[0]']);
      const [truncated, , wrongKey] = artefactMutants as [MutantRecord, MutantRecord, MutantRecord];
      assert.deepEqual([truncated.status, truncated.killedBy], ['killed', 'restore'], truncated.error);
      assert.match(truncated.description, /^truncating .*shop\.dump\.enc at half its size/);
      assert.deepEqual([wrongKey.status, wrongKey.killedBy], ['killed', 'fetch'], wrongKey.error);
      assert.deepEqual(await fingerprint(encrypted), source, 'sha256, size and mtime of the source are unchanged');
      assert.equal(report.artefacts[0]!.source!.sha256, source.sha256);
      assert.ok(!JSON.stringify(report).includes(passphrase), 'the passphrase is not in the report');
    });
  });

  describe('a strong drill (counts, a baseline and a schema check over two databases)', () => {
    let report: RunReport;

    before(async () => {
      report = await mutate('strong', [
        '  stores:',
        '    app:',
        '      engine: postgres',
        '      restore:',
        `        - { artefact: ${fixtures.shopDump}, database: shop }`,
        `        - { artefact: ${fixtures.analyticsSqlGz}, database: analytics }`,
        '  mutation:',
        '    accept:',
        '      - { mutant: "age-timestamps:*", why: the demo data has no recent rows to age }',
        '  checks:',
        '    - { id: customers, type: count, store: app, database: shop, table: public.customers, expect: { equals: 500 } }',
        `    - { id: shop-baseline, type: baseline, store: app, database: shop, baseline: ${fixtures.baseline} }`,
        `    - { id: shop-schema, type: schema, store: app, database: shop, baseline: ${fixtures.baseline} }`,
      ]);
    });

    it('undoes every mutant: the checks pass again on the store afterwards, and the drill passes', () => {
      const m = report.mutation!;
      assert.equal(m.status, 'scored', m.reason);
      assert.deepEqual(m.stores.map((s) => [s.name, s.checksAfterUndo]), [['app', 'passed']]);
      assert.deepEqual(report.checks.map((c) => c.status), ['passed', 'passed', 'passed']);
      assert.ok(!report.errors.some((e) => e.code === 'E_MUTANT_UNDO'), JSON.stringify(report.errors));
    });

    it('kills the row, table and index mutants of the database its checks read, naming the check that noticed', () => {
      const shop = report.mutation!.mutants.filter((x) => x.kind !== 'age-timestamps' && x.target.startsWith('shop/'));
      assert.ok(shop.length >= 5, JSON.stringify(report.mutation!.mutants.map((x) => x.id)));
      for (const x of shop.filter((x) => x.kind === 'delete-row' || x.kind === 'drop-relation' || x.kind === 'drop-index')) {
        assert.equal(x.status, 'killed', `${x.id} survived`);
        assert.ok(['customers', 'shop-baseline', 'shop-schema'].includes(x.killedBy!), `${x.id} killed by ${x.killedBy}`);
      }
      // The analytics database has no check: its damage survives, and the score says so.
      assert.ok(report.mutation!.mutants.some((x) => x.status === 'survived' && x.target.startsWith('analytics')), JSON.stringify(report.mutation!.mutants.map((x) => [x.id, x.status, x.killedBy])));
      assert.ok(report.mutation!.score! > 0.4 && report.mutation!.score! < 1, `score ${report.mutation!.score}`);
    });
  });
  describe('a drill whose check reads what no undo puts back (a row\'s physical place)', () => {
    let report: RunReport;

    before(async () => {
      // A deleted row put back by an undo gets a new ctid: the check passes on the restore and fails
      // once the store was damaged and undone, so the mutation must stop and say so.
      report = await mutate('undo-unseen', [
        '  stores:',
        '    app:',
        '      engine: postgres',
        '      restore:',
        `        - { artefact: ${fixtures.shopDump}, database: shop }`,
        '  checks:',
        "    - { id: first-customer-in-place, type: query, store: app, database: shop, sql: \"select ctid::text from public.customers where id = 1\", expect: { equals: '(0,1)' } }",
      ]);
    });

    it('stops with E_MUTANT_UNDO naming the store and the check, runs no further mutant, and still tears down', () => {
      assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [['first-customer-in-place', 'passed']]);
      const undo = report.errors.find((e) => e.code === 'E_MUTANT_UNDO');
      assert.ok(undo, JSON.stringify(report.errors));
      assert.match(undo.message, /store app fails check first-customer-in-place that passed before: an undo did not put back what was there/);
      const m = report.mutation!;
      assert.equal(m.status, 'stopped');
      assert.match(m.reason ?? '', /first-customer-in-place/);
      assert.equal(m.verdict, 'failed', 'a stopped mutation has not proved the drill');
      assert.deepEqual(m.stores.map((s) => [s.name, s.checksAfterUndo]), [['app', 'failed']]);
      assert.ok(!m.mutants.some((x) => x.kind.endsWith('-artefact')), 'no artefact mutant ran after the stop');
      assert.equal(report.exitCode, 1, 'mutate fails: the score was not finished');
    });
  });

  describe('a drill whose source picks the latest night', () => {
    let report: RunReport;
    let newest: Awaited<ReturnType<typeof fingerprint>>;
    let newestPath: string;

    before(async () => {
      // Two nights: the older one lost its last ten events, as an older backup holds fewer rows.
      const plain = gunzipSync(await readFile(fixtures.analyticsSqlGz)).toString('utf8').split('\n');
      const end = plain.findIndex((line, i) => line === '\\.' && plain.slice(0, i).some((l) => l.startsWith('COPY public.events ')));
      plain.splice(end - 10, 10);
      const nights = join(work, 'nights');
      await mkdir(join(nights, '2026-11-28'), { recursive: true });
      await mkdir(join(nights, '2026-11-29'), { recursive: true });
      await writeFile(join(nights, '2026-11-28', 'analytics.sql.gz'), gzipSync(plain.join('\n')));
      newestPath = join(nights, '2026-11-29', 'analytics.sql.gz');
      await writeFile(newestPath, await readFile(fixtures.analyticsSqlGz));
      newest = await fingerprint(newestPath);
      report = await mutate('nightly', [
        '  stores:',
        '    app:',
        '      engine: postgres',
        '      restore:',
        `        - { artefact: { source: ${nights}, select: { latest: "{date:YYYY-MM-DD}/analytics.sql.gz" } }, database: analytics }`,
        '  mutation:',
        '    accept:',
        '      - { mutant: "*:analytics/*", why: this test is about the artefact mutants }',
        '      - { mutant: "truncate:app/*", why: the test accepts one kind of artefact damage }',
        '  checks:',
        `    - { id: events, type: count, store: app, table: public.events, expect: { equals: ${fixtures.counts['public.events']} } }`,
      ]);
    });

    it('restores the backup before the newest as a mutant, which the exact count notices; the sources are unchanged', async () => {
      assert.equal(report.checks[0]!.status, 'passed');
      const previous = report.mutation!.mutants.find((x) => x.id === 'previous:app/restore[0]');
      assert.ok(previous, JSON.stringify(report.mutation!.mutants.map((x) => x.id)));
      assert.deepEqual([previous.status, previous.killedBy], ['killed', 'events'], previous.error);
      assert.match(previous.description, /^restoring the backup before .*2026-11-29\/analytics\.sql\.gz/);
      assert.deepEqual(await fingerprint(newestPath), newest);
    });

    it('does not make an artefact mutant the drill accepts, and still makes the others', () => {
      const truncate = report.mutation!.mutants.find((x) => x.id === 'truncate:app/restore[0]');
      assert.deepEqual([truncate?.status, truncate?.notMade, truncate?.durationMs, truncate?.acceptedWhy], ['accepted', true, 0, 'the test accepts one kind of artefact damage']);
      const flip = report.mutation!.mutants.find((x) => x.id === 'flip-byte:app/restore[0]');
      assert.ok(flip && flip.durationMs > 0 && !flip.notMade && flip.status !== 'accepted', JSON.stringify(flip));
    });
  });
});
