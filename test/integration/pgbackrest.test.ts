import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireBackends, requireFiles, testbed, useTestbedBinaries } from '../support/backends.ts';
import { runInlineDrill } from '../support/inline-drill.ts';
import { makePgbackrestRepo, type PgbackrestFixture } from '../support/pgbackrest-repo.ts';
import { inspectLocalDirectory } from '../../src/sources/local.ts';


describe('postgres: pgBackRest repositories (latest and PITR) restored into a fresh data dir', function () {
  let work: string;
  let fixture: PgbackrestFixture;
  let repoDigest: string;

  before(async function () {
    requireBackends(this, 'postgres');
    const pg = testbed().backends.postgres as { pgbackrest?: string };
    requireFiles(this, 'postgres', [pg.pgbackrest ?? '/usr/bin/pgbackrest']);
    useTestbedBinaries();
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-pgbackrest-'));
    await chmod(work, 0o755); // the server's account writes the repository below it
    fixture = await makePgbackrestRepo(work);
    repoDigest = (await inspectLocalDirectory('repo', fixture.repo)).sha256;
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  const run = (name: string, lines: string[]) => runInlineDrill(work, name, lines);

  const store = (name: string, extra: string[]) => [`    ${name}:`, '      engine: postgres', '      restore:', `        - artefact: ${fixture.repo}`, '          format: pgbackrest', `          stanza: ${fixture.stanza}`, ...extra.map((l) => `          ${l}`)];
  const count = (id: string, storeName: string, where: string, n: number) =>
    `    - { id: ${id}, type: count, store: ${storeName}, database: postgres, table: public.items, ${where ? `where: "${where}", ` : ''}expect: { equals: ${n} } }`;

  it('restores the latest state and two points in time (a differential and a full set), proven by row counts', async () => {
    const report = await run('pgbackrest', [
      '  stores:',
      ...store('latest', []),
      ...store('pitrdiff', [`target: "${fixture.afterDiff}"`]),
      ...store('pitrfull', [`target: "${fixture.afterFull}"`]),
      '  checks:',
      count('latest-all', 'latest', '', 18),
      count('latest-after', 'latest', "phase = 'after'", 3),
      count('diff-all', 'pitrdiff', '', 15),
      count('diff-after', 'pitrdiff', "phase = 'after'", 0),
      count('full-all', 'pitrfull', '', 10),
      count('full-diff', 'pitrfull', "phase = 'diff'", 0),
    ]);
    assert.equal(report.exitCode, 0, JSON.stringify(report.errors));
    assert.deepEqual(report.checks.map((c) => [c.id, c.status]), [
      ['latest-all', 'passed'], ['latest-after', 'passed'], ['diff-all', 'passed'], ['diff-after', 'passed'], ['full-all', 'passed'], ['full-diff', 'passed'],
    ]);
    const [full, diff] = fixture.labels;
    assert.match(diff!, /^\d{8}-\d{6}F_\d{8}-\d{6}D$/);
    const byStore = Object.fromEntries(report.artefacts.map((a) => [a.store, a]));
    assert.match(byStore.latest!.format, new RegExp(`^pgbackrest ${diff} \\(diff, PostgreSQL 15, stanza demo\\), latest$`));
    assert.match(byStore.pitrdiff!.format, new RegExp(`^pgbackrest ${diff} .* to ${fixture.afterDiff.replace(/[.+]/g, '\\$&')}$`));
    assert.match(byStore.pitrfull!.format, new RegExp(`^pgbackrest ${full} \\(full,`));
    assert.equal(byStore.pitrdiff!.pointInTime!.source, 'pgbackrest recovery target');
    const steps = report.stores.find((s) => s.name === 'pitrfull')!.steps;
    assert.equal(steps[0]!.tool, 'pgbackrest');
    assert.ok(steps[0]!.args.includes(`--set=${full}`) && steps[0]!.args.includes('--type=time') && steps[0]!.args.includes('--archive-mode=off'), steps[0]!.args.join(' '));
    assert.equal(steps[0]!.status, 'passed');
    // The source repository was only read.
    assert.equal((await inspectLocalDirectory('repo', fixture.repo)).sha256, repoDigest);
  });

  it('integrity (amcheck) fails naming the index a page of which was corrupted before the backup, and passes on the set taken before it', async () => {
    const integrity = (id: string, storeName: string) => `    - { id: ${id}, type: integrity, store: ${storeName}, database: postgres }`;
    const report = await run('pgbackrest-integrity', ['  stores:', ...store('latest', []), ...store('pitrfull', [`target: "${fixture.afterFull}"`]), '  checks:', integrity('latest-whole', 'latest'), integrity('full-whole', 'pitrfull')]);
    assert.equal(report.exitCode, 1, JSON.stringify(report.errors));
    const [latest, full] = report.checks;
    assert.equal(latest!.status, 'failed');
    assert.ok(latest!.message.startsWith(`index ${fixture.corruptedIndex}: `), latest!.message);
    assert.match(latest!.message, /item order invariant violated|high key invariant violated|heap tuple .* lacks matching index tuple/);
    assert.equal(full!.status, 'passed', full!.message);
    // Every B-tree index (catalogs included) and every table, the heap too on PostgreSQL 15.
    assert.match(full!.message, /^\d{3,} B-tree indexes and \d{2,} tables whole$/);
    assert.equal((full!.actual as { indexes: number }).indexes, (latest!.actual as { indexes: number }).indexes);
  });

  it('a target before the first backup ended fails at verify, naming the repository, before any server starts', async () => {
    const report = await run('pgbackrest-early', ['  stores:', ...store('db', ['target: "2001-01-01 00:00:00+00"']), '  checks:', count('n', 'db', '', 18)]);
    assert.equal(report.exitCode, 1);
    assert.equal(report.errors[0]!.code, 'E_ARTEFACT');
    assert.ok(report.errors[0]!.message.startsWith(`${fixture.repo}: target 2001-01-01 00:00:00+00 is before the end of the first backup in stanza demo`), report.errors[0]!.message);
    assert.equal(report.phases.find((p) => p.name === 'verify')!.status, 'failed');
    assert.equal(report.phases.find((p) => p.name === 'provision')!.status, 'skipped');
  });

  it('a directory that is not a repository, and a set that does not exist, are clear errors', async () => {
    const notRepo = join(work, 'not-a-repo');
    await mkdir(join(notRepo, 'stuff'), { recursive: true });
    await writeFile(join(notRepo, 'stuff', 'file'), 'x');
    const bad = await run('pgbackrest-notrepo', ['  stores:', '    db:', '      engine: postgres', '      restore:', `        - { artefact: ${notRepo}, format: pgbackrest, stanza: demo }`]);
    assert.equal(bad.exitCode, 1);
    assert.equal(bad.errors[0]!.message, `${notRepo}: is not a pgBackRest repository (no backup/demo/backup.info)`);
    const noStanza = await run('pgbackrest-nostanza', ['  stores:', '    db:', '      engine: postgres', '      restore:', `        - { artefact: ${fixture.repo}, format: pgbackrest, stanza: other }`]);
    assert.equal(noStanza.errors[0]!.message, `${fixture.repo}: has no stanza other (stanzas: demo)`);
    const noSet = await run('pgbackrest-noset', ['  stores:', ...store('db', ['set: 20000101-000000F'])]);
    assert.equal(noSet.exitCode, 1);
    assert.match(noSet.errors[0]!.message, /: has no backup set 20000101-000000F in stanza demo \(sets: \d{8}-\d{6}F, /);
  });

  it('a target without a time zone is a drill error (exit 2)', async () => {
    const report = await run('pgbackrest-nozone', ['  stores:', ...store('db', ['target: "2026-03-02 14:00:00"'])]);
    assert.equal(report.exitCode, 2);
    assert.match(report.errors[0]!.message, /target "2026-03-02 14:00:00" is not a timestamp with a time zone/);
  });
});

