import type { VerifiedArtefact } from '../engines/types.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import type { CheckOutcome } from './types.ts';

/** All artefacts of a drill must come from (about) the same point in time. */
export function consistencyOutcome(artefacts: VerifiedArtefact[], window: string): CheckOutcome {
  const points = artefacts
    .filter((a) => a.pointInTime)
    .map((a) => ({ store: a.store, artefact: a.info.ref, at: a.pointInTime!.at, source: a.pointInTime!.source, ms: Date.parse(a.pointInTime!.at) }))
    .sort((a, b) => a.ms - b.ms);
  if (points.length < 2) return { passed: true, expected: `within ${window}`, actual: points, message: 'fewer than two artefacts claim a point in time' };
  const spread = points.at(-1)!.ms - points[0]!.ms;
  const limit = parseDuration(window);
  const passed = spread <= limit;
  return {
    passed,
    expected: `all artefacts within ${window} of each other`,
    actual: { spreadMs: spread, points: points.map(({ ms: _ms, ...p }) => p) },
    message: passed
      ? `${points.length} artefacts span ${formatDuration(spread)}`
      : `artefacts span ${formatDuration(spread)} (> ${window}): oldest ${points[0]!.artefact} at ${points[0]!.at} (${points[0]!.source}), newest ${points.at(-1)!.artefact} at ${points.at(-1)!.at} (${points.at(-1)!.source})`,
  };
}
