import type { CheckOutcome } from './types.ts';

/** A schema as the engines capture it: canonical object lines, sorted, and their digest. */
export interface SchemaFingerprint {
  sha256: string;
  objects: string[];
}

export interface SchemaDiff {
  missing: string[];
  extra: string[];
}

export function diffSchema(expected: string[], actual: string[]): SchemaDiff {
  const a = new Set(actual);
  const e = new Set(expected);
  return { missing: expected.filter((o) => !a.has(o)), extra: actual.filter((o) => !e.has(o)) };
}

/** Shared by the engines' schema checks: the restored fingerprint against the baseline's, listing missing and extra objects. */
export function compareSchema(expected: SchemaFingerprint, actual: SchemaFingerprint): CheckOutcome {
  const diff = diffSchema(expected.objects, actual.objects);
  const passed = actual.sha256 === expected.sha256;
  const lines = [...diff.missing.map((o) => `- ${o}`), ...diff.extra.map((o) => `+ ${o}`)];
  return {
    passed,
    expected: `schema fingerprint ${expected.sha256.slice(0, 12)} (${expected.objects.length} objects)`,
    actual: { sha256: actual.sha256, objects: actual.objects.length, missing: diff.missing, extra: diff.extra },
    message: passed ? `schema matches (${actual.objects.length} objects)` : `schema differs from the baseline (- missing, + extra):\n${lines.slice(0, 40).join('\n')}${lines.length > 40 ? `\n… ${lines.length - 40} more` : ''}`,
  };
}
