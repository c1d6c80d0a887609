import type { VerifiedArtefact } from '../engines/types.ts';
import { ArtefactError, errorMessage } from '../errors.ts';
import { digestLocalArtefact } from './local.ts';
import { stopTee, teeInto } from './tee.ts';

/** One artefact's digest being read: its store and step, and the digest ('' when the run stopped first). */
interface PendingDigest {
  artefact: VerifiedArtefact;
  digest: Promise<string>;
  /** An artefact the restore streams: its digest comes from that read, or is read now if the restore did not read it to its end. */
  restoreEnded?: () => void;
}

/**
 * The digests of local artefacts, taken while the stores start and restore rather than before:
 * verify inspects without reading every byte, and a store counts as restored only once its own
 * artefacts' digests are in. An artefact the restore streams itself is hashed on the way
 * (readByRestore); the others are read alongside provision and restore. What a fetch already
 * hashed as it downloaded is not read again.
 */
export class ArtefactDigests {
  readonly #pending: PendingDigest[] = [];

  /** Starts taking the digest of an artefact inspected without one; the artefact's info gets it when read. */
  start(artefact: VerifiedArtefact, signal: AbortSignal): void {
    if (!artefact.readByRestore) {
      this.#track({ artefact, digest: this.#read(artefact, signal) });
      return;
    }
    const { info } = artefact;
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    let taken = false;
    const take = (digest: Promise<string>) => {
      if (taken) return;
      taken = true;
      stopTee(info);
      digest.then(resolve, reject);
    };
    teeInto(info, {
      read: (sha256, bytes) => take(bytes === info.size
        ? Promise.resolve(this.#record(artefact, sha256))
        : Promise.reject(new ArtefactError(info.ref, `changed while the run read it: ${bytes} bytes read, ${info.size} when it was verified`, 'do not restore from a backup that is still being written'))),
    });
    // Read the file only if the restore did not stream it whole: reading it anyway would cost a
    // second read, and a failure of that unawaited read would reject with no one listening.
    this.#track({ artefact, digest: promise, restoreEnded: () => taken || take(this.#read(artefact, signal)) });
  }

  /** Waits for the digests of one store's artefacts, once its restore has ended; throws the first that failed. */
  async forStore(store: string): Promise<void> {
    const mine = this.#pending.filter((p) => p.artefact.store === store);
    for (const p of mine) p.restoreEnded?.();
    for (const p of mine) await p.digest;
  }

  /** Every digest started, read or failed: each with its artefact, for the evidence. */
  async settled(): Promise<{ artefact: VerifiedArtefact; sha256: string }[]> {
    for (const p of this.#pending) p.restoreEnded?.();
    return Promise.all(this.#pending.map(async (p) => ({ artefact: p.artefact, sha256: await p.digest.catch(() => '') })));
  }

  #track(pending: PendingDigest): void {
    pending.digest.catch(() => {}); // handled by whoever waits for the store (forStore) or the run (settled)
    this.#pending.push(pending);
  }

  #read(artefact: VerifiedArtefact, signal: AbortSignal): Promise<string> {
    return digestLocalArtefact(artefact.info, signal).then(
      (sha256) => this.#record(artefact, sha256),
      (err: unknown) => {
        if (signal.aborted) return '';
        throw new ArtefactError(artefact.info.ref, `could not be read for its digest: ${errorMessage(err)}`, 'check that the file is readable and was not changed or removed during the run');
      },
    );
  }

  #record(artefact: VerifiedArtefact, sha256: string): string {
    artefact.info.sha256 = sha256;
    delete artefact.info.files; // the listing served its one walk
    return sha256;
  }
}
