import type { Expectation } from '../drill/types.ts';

export interface Evaluation {
  passed: boolean;
  expected: string;
  /** Why it failed, in words. */
  reason?: string;
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

function asText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Every stated expectation must hold. Numbers are compared numerically, whatever type the driver returned. */
export function evaluate(expect: Expectation, actual: unknown): Evaluation {
  const parts: string[] = [];
  const failures: string[] = [];
  const n = asNumber(actual);
  const numeric = (label: string, ok: (x: number) => boolean) => {
    parts.push(label);
    if (n === undefined || !ok(n)) failures.push(`${asText(actual)} is not ${label}`);
  };
  if ('equals' in expect) {
    const want = expect.equals;
    parts.push(`= ${asText(want)}`);
    const wantNumber = asNumber(want);
    const same = want === null
      ? actual === null || actual === undefined
      : typeof want === 'number' && n !== undefined ? n === wantNumber
      : typeof want === 'boolean' ? actual === want || asText(actual) === String(want)
      : asText(actual) === String(want);
    if (!same) failures.push(`${asText(actual)} ≠ ${asText(want)}`);
  }
  if (expect.min !== undefined) numeric(`>= ${expect.min}`, (x) => x >= expect.min!);
  if (expect.max !== undefined) numeric(`<= ${expect.max}`, (x) => x <= expect.max!);
  if (expect.between) {
    const [lo, hi] = expect.between;
    numeric(`between ${lo} and ${hi}`, (x) => x >= lo && x <= hi);
  }
  if (expect.notNull) {
    parts.push('not null');
    if (actual === null || actual === undefined) failures.push('value is null');
  }
  if (expect.matches !== undefined) {
    parts.push(`matches /${expect.matches}/`);
    if (!new RegExp(expect.matches).test(asText(actual))) failures.push(`${asText(actual)} does not match /${expect.matches}/`);
  }
  return { passed: failures.length === 0, expected: parts.join(' and '), ...(failures.length ? { reason: failures.join('; ') } : {}) };
}
