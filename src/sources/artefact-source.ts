import type { ArtefactSourceSpec } from '../drill/types.ts';

/** A step's artefact when the drill names a source to fetch (an object) rather than a local path. */
export function artefactSourceOf(step: object): ArtefactSourceSpec | undefined {
  return 'artefact' in step && isSourceSpec(step.artefact) ? step.artefact : undefined;
}

function isSourceSpec(value: unknown): value is ArtefactSourceSpec {
  return typeof value === 'object' && value !== null && 'source' in value;
}
