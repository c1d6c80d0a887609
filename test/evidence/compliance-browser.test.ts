import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunReport } from '../../src/report/types.ts';
import { repoRoot, requireBackends } from '../support/backends.ts';
import { launchChromium } from '../support/browser.ts';
import { demoBackups, fixtureDrill, runCli } from '../support/fixtures.ts';
import { noAudit, runAndRead, shopVariant } from './helpers.ts';

const screenshots = join(repoRoot, 'reports', 'screenshots');

describe('evidence: HTML compliance reports in headless Chromium', function () {
  let work: string;
  let reports: string;
  let key: string;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const orders: RunReport[] = [];
  const payments: RunReport[] = [];

  before(async function () {
    requireBackends(this, 'postgres');
    browser = await launchChromium(this);
    work = await mkdtemp(join(tmpdir(), 'restoreproof-test-compliance-'));
    reports = join(work, 'reports');
    key = join(work, 'signing.key');
    assert.equal((await runCli(['keygen', '--out', key])).code, 0);
    const env = { RESTOREPROOF_FIXTURES: (await demoBackups()).dir, RESTOREPROOF_SIGNING_KEY_FILE: key };

    // A known history: two drills, two runs each; `payments` fails both times and one failure is reviewed.
    const ordersDrill = await shopVariant(work, 'orders', { spec: ['  objectives: { rto: 1h }'] });
    const paymentsDrill = join(work, 'payments.yaml');
    await writeFile(paymentsDrill, (await readFile(fixtureDrill('count-fails.yaml'), 'utf8')).replace('  name: count-fails', '  name: payments\n  controls: ["DORA:Art12", "NIST:CP-9(1)"]'));
    for (let i = 0; i < 2; i++) {
      orders.push((await runAndRead(ordersDrill, reports, env)).report);
      payments.push((await runAndRead(paymentsDrill, reports, env)).report);
    }
    assert.deepEqual([...orders, ...payments].map((r) => r.status), ['passed', 'passed', 'failed', 'failed']);
    const review = await runCli(['review', join(reports, `${payments[0]!.runId}.json`), '--reviewer', 'Dana Reviewer', '--corrective-action', 'fix the customer count expectation', '--ticket', 'RISK-7', '--key', key], noAudit);
    assert.equal(review.code, 0, review.stderr);

    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
  });
  after(async () => {
    await browser?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const text = async (selector: string) => (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();

  it('restoreproof report --since 90d shows timelines, RTO trend, controls, open deviations and verification', async () => {
    const out = join(work, 'compliance.html');
    const result = await runCli(['report', '--since', '90d', '--history', join(reports, 'history'), '--key', `${key}.pub`, '-o', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /2 drill\(s\), 4 run\(s\)/);

    requests.length = 0;
    await page.goto(`file://${out}`);
    assert.match(await page.title(), /restoreproof compliance report \(last 90d\)/);
    assert.equal(await text('#drill-count'), '2');
    assert.equal(await text('#run-count'), '4');
    assert.equal(await text('#deviation-count'), '1');
    assert.equal(await text('#verification'), 'INTACT');

    const verification = await text('#verification-table');
    assert.match(verification, /orders intact \(2 runs\) 2 verified/);
    assert.match(verification, /payments intact \(2 runs\) 2 verified/);

    const controls = await text('#controls-table');
    for (const control of ['SOC2:A1.3', 'DORA:Art12', 'NIST:CP-9(1)']) assert.ok(controls.includes(control), `${control} in ${controls}`);
    assert.match(controls, /DORA:Art12 payments 2 0 FAILED/);

    // Only the failure nobody reviewed is an open deviation.
    const deviations = await text('#deviations-table');
    assert.ok(deviations.includes(payments[1]!.runId), deviations);
    assert.ok(!deviations.includes(payments[0]!.runId), deviations);
    assert.match(deviations, /too-many-customers: customers has 500 rows, expected = 501/);

    for (const [drill, runs, stores] of [['orders', orders, 1], ['payments', payments, 1]] as const) {
      const section = page.locator(`section[data-drill="${drill}"]`);
      assert.equal(await section.locator('svg.passfail rect').count(), runs.length * (1 + stores));
      for (const r of runs) assert.equal(await section.locator(`svg.passfail rect[data-run="${r.runId}"]`).first().getAttribute('data-status'), r.status === 'passed' ? 'passed' : 'failed');
      assert.equal(await section.locator('svg.rto circle').count(), runs.length);
    }
    assert.match((await page.locator('section[data-drill="orders"] svg.rto .rto-target').textContent()) ?? '', /RTO target 1h/);
    assert.match(await text('section[data-drill="payments"]'), /Dana Reviewer .* fix the customer count expectation RISK-7 verified/);

    assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), [], 'no network assets');
    await mkdir(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, 'compliance.png'), fullPage: true });
    assert.ok((await stat(join(screenshots, 'compliance.png'))).size > 10_000);
  });

  it('a broken chain shows as BROKEN in the report', async () => {
    const history = join(work, 'broken-history');
    await cp(join(reports, 'history'), history, { recursive: true });
    await rm(join(history, 'orders', `${orders[0]!.runId}.json`));
    const out = join(work, 'broken.html');
    assert.equal((await runCli(['report', '--history', history, '-o', out])).code, 0);
    await page.goto(`file://${out}`);
    assert.equal(await text('#verification'), 'BROKEN');
    assert.match(await text('#verification-table'), new RegExp(`run ${orders[0]!.runId} \\(sequence 1\\) is missing: deleted`));
    assert.match(await text('#verification-table'), /not checked \(no --key\)/);
  });

  it('every run writes a compliance page that links the mochawesome report', async () => {
    const run = orders[1]!;
    const file = join(reports, run.reports.compliance!);
    requests.length = 0;
    await page.goto(`file://${file}`);
    assert.match(await text('h1'), /Restore drill evidence: orders PASSED/);
    assert.equal(await text('#run-id'), run.runId);
    assert.equal(await page.locator('#checks tbody tr').count(), 4);
    assert.deepEqual(await page.locator('svg g[data-phase]').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-store') ?? g.getAttribute('data-phase'))), ['load', 'preflight', 'verify', 'provision', 'restore', 'app', 'checks', 'teardown']);
    assert.match(await text('#controls'), /SOC2:A1\.3/);
    assert.match(await text('#integrity'), new RegExp(`previous run \\(chain\\) ${orders[0]!.runId}`));
    assert.match(await text('#integrity'), /DSSE envelope .*\.dsse\.json, Ed25519 key id [0-9a-f]{64}/);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), [], 'no network assets');
    await page.screenshot({ path: join(screenshots, 'run-compliance.png'), fullPage: true });

    const link = page.locator(`a[href="${run.reports.html}"]`);
    assert.match((await link.textContent()) ?? '', /mochawesome/);
    assert.ok(existsSync(join(reports, run.reports.html!)));
    await link.click();
    await page.waitForURL(`**/${run.reports.html}`);
    assert.match(await page.title(), new RegExp(`restoreproof ${run.runId}`));
  });
});
