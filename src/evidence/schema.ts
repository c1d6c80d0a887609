import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import type { RunReport } from '../report/types.ts';

export const reportSchemaPath = new URL('../../schemas/report.schema.json', import.meta.url);

let compiled: ValidateFunction<RunReport> | undefined;

/** Problems of a report against schemas/report.schema.json, as `path: message` (empty when valid). */
export function reportSchemaProblems(report: unknown): string[] {
  compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile<RunReport>(JSON.parse(readFileSync(reportSchemaPath, 'utf8')));
  if (compiled(report)) return [];
  return (compiled.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}
