import { resolve } from 'node:path';
import { RestoreproofError, errorMessage } from '../../errors.ts';
import { defaultFormats, reportFiles, selectedReporters, writeReports } from '../../report/index.ts';
import type { RunContext } from '../context.ts';

/** Where this run's reports go: --report-dir, else the drill's spec.report.dir, else ./reports. */
export function reportDirOf(ctx: RunContext): string {
  return resolve(ctx.options.reportDir ?? ctx.drill?.document.spec.report?.dir ?? 'reports');
}

/** reports: the requested formats and the JSON evidence document, from the finished report. */
export async function reportsPhase(ctx: RunContext): Promise<void> {
  const dir = reportDirOf(ctx);
  const formats = ctx.options.formats ?? ctx.drill?.document.spec.report?.formats ?? defaultFormats;
  const names = selectedReporters(formats);
  ctx.report.files(reportFiles(ctx.runId, names));
  try {
    await writeReports(ctx.report.report, { dir }, names);
  } catch (err) {
    ctx.report.error(new RestoreproofError('E_REPORT', `cannot write reports to ${dir}: ${errorMessage(err)}`));
  }
}
