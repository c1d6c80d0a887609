import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertValidReport } from '../support/fixtures.ts';
import { filesUnder } from './helpers.ts';

/*
 * Root hooks for the whole suite. Every run, in-process or through the CLI, also appends its report
 * to the history named by RESTOREPROOF_HISTORY; here that is one suite-wide directory, and when the
 * whole suite has run every report in it must match schemas/report.schema.json. So no report the
 * suite produces escapes the schema, even from a test that forgets to check it.
 * (Spec files load before any test runs, so every test's environment carries the variable.)
 */
const auditDir = mkdtempSync(join(tmpdir(), 'restoreproof-test-report-audit-'));
process.env.RESTOREPROOF_HISTORY = auditDir;

async function invalidReports(): Promise<{ count: number; problems: string[] }> {
  const files = (await filesUnder(auditDir)).filter((f) => /\/\d{8}T\d{6}Z-[0-9a-f]{6}\.json$/.test(f));
  const problems: string[] = [];
  for (const file of files) {
    try {
      assertValidReport(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      problems.push(`${file.slice(auditDir.length + 1)}: ${(err as Error).message}`);
    }
  }
  return { count: files.length, problems };
}

after('every report the suite wrote matches schemas/report.schema.json', async function () {
  const { count, problems } = await invalidReports();
  await rm(auditDir, { recursive: true, force: true });
  if (problems.length) throw new Error(`${problems.length} of ${count} reports written by the suite do not match the schema:\n${problems.join('\n')}`);
  if (count) console.log(`  report schema audit: all ${count} reports written by the suite match schemas/report.schema.json`);
});

describe('evidence: report schema audit', () => {
  it('collects the reports of every run in the suite into one history, checked against the schema at the end', async () => {
    assert.equal(process.env.RESTOREPROOF_HISTORY, auditDir);
    // What earlier files have written so far must already hold.
    assert.deepEqual((await invalidReports()).problems, []);
  });
});
