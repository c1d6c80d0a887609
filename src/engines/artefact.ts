import type { ArtefactInfo } from '../sources/local.ts';
export type { ArtefactInfo };

/**
 * An artefact checked before any restore. A leaf module: runtimes receive verified artefacts
 * (an engine that restores before start needs them at provision) without importing the engine
 * contract, which itself names the started store.
 */
export interface VerifiedArtefact {
  store: string;
  step: number;
  info: ArtefactInfo;
  /** Format after detection, e.g. `custom` for a pg_dump -Fc file. */
  format: string;
  /**
   * The restore streams every byte of this artefact itself (openArtefact, readArtefactFiles), and
   * the digest for the evidence is taken from that read instead of a second one.
   */
  readByRestore?: boolean;
  /** The point in time the artefact claims to capture, and where that claim comes from. */
  pointInTime?: { at: string; source: string };
}
