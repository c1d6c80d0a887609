import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runDrill } from '../../src/run/run.ts';
import type { RunReport } from '../../src/report/types.ts';
import { assertValidReport, processesMatching } from './fixtures.ts';
import { runDirsNamed } from './run-dirs.ts';

const header = (name: string, runtime: string) => ['apiVersion: restoreproof/v1', 'kind: RestoreDrill', `metadata: { name: ${name} }`, 'spec:', `  runtime: ${runtime}`];

/** Writes `<work>/<name>.yaml` (a drill on `runtime`, local by default, with `lines` under spec), runs it, and checks nothing is left on this machine. */
export async function runInlineDrill(work: string, name: string, lines: string[], runtime = 'local'): Promise<RunReport> {
  const file = join(work, `${name}.yaml`);
  await writeFile(file, [...header(name, runtime), ...lines].join('\n'));
  const report = await runDrill(file, { reportDir: join(work, 'reports'), env: process.env as Record<string, string> });
  assertValidReport(report);
  assert.ok(report.reports.json, 'the JSON report is written');
  assert.deepEqual(await runDirsNamed(`restoreproof-${report.runId}`), [], 'no server dir is left');
  assert.deepEqual(await processesMatching(`restoreproof-${report.runId}`), []);
  return report;
}
