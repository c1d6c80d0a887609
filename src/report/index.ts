import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { renderJUnit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import { writeMochawesome } from './mochawesome.ts';
import type { RunReport } from './types.ts';
import type { ReportFormat } from '../drill/types.ts';
export type { ReportFormat };

/** Writes the requested formats; the JSON evidence document is written last so it can list the others. */
export async function writeReports(report: RunReport, dir: string, formats: readonly ReportFormat[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const base = report.runId;
  if (formats.includes('junit')) {
    await atomicWrite(join(dir, `${base}.xml`), renderJUnit(report));
    report.reports.junit = `${base}.xml`;
  }
  if (formats.includes('markdown')) {
    await atomicWrite(join(dir, `${base}.md`), renderMarkdown(report));
    report.reports.markdown = `${base}.md`;
  }
  if (formats.includes('html')) {
    await writeMochawesome(report, dir, base);
    report.reports.html = `${base}.html`;
    report.reports.mochawesomeJson = `${base}.mochawesome.json`;
    await rename(join(dir, `${base}.json`), join(dir, `${base}.mochawesome.json`));
  }
  // Always written: the evidence document is the one output every run must leave.
  report.reports.json = `${base}.json`;
  await atomicWrite(join(dir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
}

async function atomicWrite(path: string, content: string) {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}
