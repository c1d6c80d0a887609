import type { VerifiedArtefact } from '../engines/types.ts';
import { ArtefactError, errorMessage } from '../errors.ts';
import { digestLocalArtefact } from './local.ts';

/** One artefact's digest being read: its store and step, and the digest ('' when the run stopped first). */
interface PendingDigest {
  artefact: VerifiedArtefact;
  digest: Promise<string>;
}

/**
 * The digests of local artefacts, read while the stores start and restore rather than before:
 * verify inspects without reading every byte, and a store counts as restored only once its own
 * artefacts' digests are in. What a fetch already hashed as it downloaded is not read again.
 */
export class ArtefactDigests {
  readonly #pending: PendingDigest[] = [];

  /** Starts reading the digest of an artefact inspected without one; the artefact's info gets it when read. */
  start(artefact: VerifiedArtefact, signal: AbortSignal): void {
    const digest = digestLocalArtefact(artefact.info, signal).then(
      (sha256) => (artefact.info.sha256 = sha256),
      (err: unknown) => {
        if (signal.aborted) return '';
        throw new ArtefactError(artefact.info.ref, `could not be read for its digest: ${errorMessage(err)}`, 'check that the file is readable and was not changed or removed during the run');
      },
    );
    digest.catch(() => {}); // handled by whoever waits for the store (forStore) or the run (settled)
    this.#pending.push({ artefact, digest });
  }

  /** Waits for the digests of one store's artefacts; throws the first that could not be read. */
  async forStore(store: string): Promise<void> {
    for (const p of this.#pending.filter((p) => p.artefact.store === store)) await p.digest;
  }

  /** Every digest started, read or failed: each with its artefact, for the evidence. */
  async settled(): Promise<{ artefact: VerifiedArtefact; sha256: string }[]> {
    return Promise.all(this.#pending.map(async (p) => ({ artefact: p.artefact, sha256: await p.digest.catch(() => '') })));
  }
}
