/**
 * Where a restore's own read of an artefact hands over the digest of the bytes it read, so the
 * run does not read the artefact a second time for its evidence. The run registers a sink for
 * an artefact it expects the restore to stream (keyed by the artefact's info object); a reader
 * that reaches the end of every byte calls it. A reader stopped early calls nothing.
 */
export interface DigestSink {
  /** Every byte was read: their sha256 and how many there were. */
  read(sha256: string, bytes: number): void;
}

const sinks = new WeakMap<object, DigestSink>();

/** The run wants this artefact's digest from whoever streams it next, to its end. */
export function teeInto(info: object, sink: DigestSink): void {
  sinks.set(info, sink);
}

export function stopTee(info: object): void {
  sinks.delete(info);
}

/** The sink a reader of this artefact feeds, if the run wants its digest from the read. */
export function teeOf(info: object): DigestSink | undefined {
  return sinks.get(info);
}
