import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixtureDrill, readReport, runCli, type CliResult } from '../support/fixtures.ts';
import type { RunReport } from '../../src/report/types.ts';

/** These tests keep each history beside its reports, not in the suite-wide audit history (report-schema-audit.test.ts). */
export const noAudit = { env: { RESTOREPROOF_HISTORY: '' } };

export const runIdOf = (output: string) => /restoreproof run (\S+):/.exec(output)?.[1] ?? assert.fail(`no run id in:\n${output}`);

/**
 * A copy of test/fixtures/drills/shop.yaml named `name`, with extra `spec` keys (YAML lines indented
 * for `spec`) and extra metadata lines, written into `dir`.
 */
export async function shopVariant(dir: string, name: string, options: { spec?: string[]; metadata?: string[] } = {}): Promise<string> {
  let text = (await readFile(fixtureDrill('shop.yaml'), 'utf8')).replace('name: shop', `name: ${name}`);
  if (options.metadata?.length) text = text.replace('  controls: ["SOC2:A1.3"]', ['  controls: ["SOC2:A1.3", "ISO27001:A.8.13"]', ...options.metadata].join('\n'));
  text = `${text.trimEnd()}\n${(options.spec ?? []).join('\n')}\n`;
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  return file;
}

/** Runs a drill with the real CLI and returns the validated report it wrote. */
export async function runAndRead(drill: string, reportDir: string, env: Record<string, string>): Promise<{ result: CliResult; report: RunReport }> {
  const result = await runCli(['run', drill, '--report-dir', reportDir], { env: { ...noAudit.env, ...env } });
  const report = await readReport(reportDir, runIdOf(result.stderr));
  return { result, report };
}

/** Every file under `dir` (recursively), for secrecy and schema sweeps. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out.sort();
}
