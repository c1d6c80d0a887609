import type { CheckOutcome } from './types.ts';

/** Shared by the engines' completeness and baseline checks: named differences, missing and extra. */
export function compareCounts(expected: Record<string, number>, restored: Record<string, number>, options: { absolute?: number; percent?: number; extra: 'fail' | 'warn' | 'ignore'; capturedAt?: string; unit: string }): CheckOutcome {
  const mismatched: { name: string; expected: number; actual: number }[] = [];
  const missing = Object.keys(expected).filter((n) => !(n in restored));
  for (const [name, want] of Object.entries(expected)) {
    const got = restored[name];
    if (got === undefined) continue;
    const allowed = Math.max(options.absolute ?? 0, Math.floor((want * (options.percent ?? 0)) / 100));
    if (Math.abs(got - want) > allowed) mismatched.push({ name, expected: want, actual: got });
  }
  const extra = options.extra === 'ignore' ? [] : Object.keys(restored).filter((n) => !(n in expected));
  const passed = mismatched.length === 0 && missing.length === 0 && !(options.extra === 'fail' && extra.length);
  const problems = [...mismatched.map((m) => `${m.name}: ${m.actual} restored, expected ${m.expected}`), ...missing.map((n) => `${n}: missing`), ...extra.map((n) => `${n}: not expected`)];
  return {
    passed,
    warn: passed && extra.length > 0,
    expected: `${Object.keys(expected).length} ${options.unit} with the expected counts${options.capturedAt ? ` (captured ${options.capturedAt})` : ''}`,
    actual: { compared: Object.keys(expected).length - missing.length, mismatched, missing, extra },
    message: problems.length ? problems.slice(0, 10).join('; ') + (problems.length > 10 ? `; … ${problems.length - 10} more` : '') : `${Object.keys(expected).length} ${options.unit} match`,
  };
}

