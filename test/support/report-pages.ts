import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunReport } from '../../src/report/types.ts';
import { chromiumPath, launchChromium } from './browser.ts';

export interface ReportPages {
  /**
   * Opens the run's `<run-id>.html` (mochawesome) and `<run-id>.compliance.html` in headless
   * Chromium and asserts what they show: the verdict, the run id, one row or test per check (each
   * failed one marked failed, with its message), the runtime, and no network request.
   */
  assertOpen(report: RunReport, reportDir: string): Promise<void>;
}

/**
 * One headless Chromium per suite, launched on first use and closed in `after`. Chromium missing
 * fails under CI=true; locally it is a loud warning and the page assertions are left out (the drill
 * assertions still run).
 */
export function useReportPages(): ReportPages {
  let browser: Browser | undefined;
  let page: Page | undefined;
  const requests: string[] = [];
  after(async () => {
    await browser?.close();
    browser = undefined;
  });
  const open = async (): Promise<Page | undefined> => {
    if (page) return page;
    if (!existsSync(chromiumPath)) {
      const reason = `Chromium not found at ${chromiumPath} (scripts/testbed up chromium): the report pages are not opened`;
      if (process.env.CI === 'true') throw new Error(reason);
      console.warn(`\n  SKIPPED: ${reason}\n`);
      return undefined;
    }
    browser = await launchChromium({ skip: () => assert.fail('unreachable') } as unknown as Mocha.Context);
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    return page;
  };
  const text = async (p: Page, selector: string) => (await p.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();

  return {
    async assertOpen(report, reportDir) {
      const p = await open();
      if (!p) return;
      const verdict = (report.result?.status ?? report.status).toUpperCase();
      requests.length = 0;

      // The compliance page: no script, so everything is in the HTML.
      const compliance = report.reports.compliance ?? assert.fail('no compliance report was written');
      await p.goto(`file://${join(reportDir, compliance)}`);
      assert.match(await text(p, 'h1'), new RegExp(`Restore drill evidence: ${report.drill.name} ${verdict}`));
      assert.equal(await text(p, '#run-id'), report.runId);
      const rows = p.locator('#checks tbody tr');
      assert.equal(await rows.count(), report.checks.length, 'one row per check');
      for (const [i, check] of report.checks.entries()) {
        const row = (await rows.nth(i).innerText()).replace(/\s+/g, ' ');
        assert.ok(row.includes(check.id), `row ${i} names ${check.id}: ${row}`);
        assert.equal(await rows.nth(i).locator('.badge').first().getAttribute('data-status'), check.status, `row ${i} (${check.id}) shows ${check.status}`);
        if (check.status === 'failed') assert.ok(row.includes(check.message.split('\n')[0]!.replace(/\s+/g, ' ').slice(0, 60)), `row ${i} shows the failure message: ${row}`);
      }
      if (report.environment) assert.match(await text(p, 'body'), new RegExp(`Runtime ${report.environment.runtime}`));

      // The mochawesome page renders from its inline data with its inline script.
      const html = report.reports.html ?? assert.fail('no mochawesome report was written');
      await p.goto(`file://${join(reportDir, html)}`);
      assert.equal(await p.title(), `restoreproof ${report.runId}`);
      await p.getByText(`restore drill ${report.drill.name}: ${report.status}`).first().waitFor();
      await p.waitForFunction("!document.body.innerText.includes('Generating Report')");
      const body = await text(p, 'body');
      for (const check of report.checks) {
        const title = `${check.id}: ${check.name}`.replace(/\s+/g, ' ');
        assert.ok(body.includes(title), `mochawesome shows "${title}"; the page has: ${body.slice(Math.max(0, body.indexOf(check.id) - 20), body.indexOf(check.id) + 200)}`);
      }
      const failedTests = report.checks.filter((c) => c.status === 'failed').length;
      if (failedTests) assert.ok(body.includes(report.checks.find((c) => c.status === 'failed')!.message.split('\n')[0]!.replace(/\s+/g, ' ').slice(0, 60)), 'mochawesome shows the failure');
      assert.deepEqual(requests.filter((u) => !u.startsWith('file://') && !u.startsWith('data:')), [], 'no network assets');
    },
  };
}
