import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReportFormat } from '../drill/types.ts';
import { renderRunCompliance } from './compliance-html.ts';
import { renderJUnit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { RunReport } from './types.ts';

export type { ReportFormat };
export type ReportFiles = RunReport['reports'];

/** What a file reporter may know besides the finished report. */
export interface ReportTarget {
  dir: string;
  /** The id of the key that signs this run (the compliance page names it). */
  signingKeyId?: string;
}

/**
 * A reporter that writes files for a finished run. It reads the report and never changes it: the
 * files it writes are named by `files` and recorded in the report before anything is written.
 */
export interface FileReporter {
  files(runId: string): ReportFiles;
  write(report: Readonly<RunReport>, target: ReportTarget): Promise<void>;
}

export const defaultFormats: readonly ReportFormat[] = ['json', 'junit', 'markdown', 'html'];

/** Every file reporter by name. Map order is write order: `json` last, so it can list the others (and mochawesome's own JSON is moved aside first). */
export const reportersMap = {
  junit: {
    files: (runId) => ({ junit: `${runId}.xml` }),
    write: (report, { dir }) => atomicWrite(join(dir, `${report.runId}.xml`), renderJUnit(report)),
  },
  markdown: {
    files: (runId) => ({ markdown: `${runId}.md` }),
    write: (report, { dir }) => atomicWrite(join(dir, `${report.runId}.md`), renderMarkdown(report)),
  },
  /** The detailed per-check page (mochawesome); its data file is `<run-id>.mochawesome.json`. */
  html: {
    files: (runId) => ({ html: `${runId}.html`, mochawesomeJson: `${runId}.mochawesome.json` }),
    async write(report, { dir }) {
      // mocha and mochawesome cost ~25 MiB and a quarter second to import: only a run that asks for the page loads them.
      const { writeMochawesome } = await import('./mochawesome.ts');
      await writeMochawesome(report, dir, report.runId);
      await rename(join(dir, `${report.runId}.json`), join(dir, `${report.runId}.mochawesome.json`));
    },
  },
  /** The compliance page, for people: always written, by the evidence step once the JSON is final. */
  compliance: {
    files: (runId) => ({ compliance: `${runId}.compliance.html` }),
    write: (report, { dir, signingKeyId }) => atomicWrite(join(dir, `${report.runId}.compliance.html`), renderRunCompliance(report, signingKeyId ? { signingKeyId } : {})),
  },
  /** The evidence document: always written; the one output every run must leave. */
  json: {
    files: (runId) => ({ json: `${runId}.json` }),
    write: (report, { dir }) => atomicWrite(join(dir, `${report.runId}.json`), reportJson(report)),
  },
} satisfies Record<ReportFormat | 'compliance', FileReporter>;

export type ReporterName = keyof typeof reportersMap;

/** The reporters a run writes before its evidence step: the requested formats, and JSON whatever was asked. */
export function selectedReporters(formats: readonly ReportFormat[]): ReporterName[] {
  return (Object.keys(reportersMap) as ReporterName[]).filter((name) => name === 'json' || (name !== 'compliance' && formats.includes(name)));
}

/** The files the named reporters write, as the report records them. */
export function reportFiles(runId: string, names: readonly ReporterName[]): ReportFiles {
  return Object.assign({}, ...names.map((name) => reportersMap[name].files(runId))) as ReportFiles;
}

/** Writes the named reporters' files, in map order. */
export async function writeReports(report: Readonly<RunReport>, target: ReportTarget, names: readonly ReporterName[]): Promise<void> {
  await mkdir(target.dir, { recursive: true });
  for (const name of names) await reportersMap[name].write(report, target);
}

export const reportJson = (report: Readonly<RunReport>) => `${JSON.stringify(report, null, 2)}\n`;

export async function atomicWrite(path: string, content: string | Uint8Array) {
  await writeFile(`${path}.tmp`, content);
  await rename(`${path}.tmp`, path);
}
