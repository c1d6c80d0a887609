/** Runs jobs with at most `limit` in flight; the producer waits, so nothing queues without bound. */
export async function bounded<T>(items: AsyncIterable<T>, limit: number, job: (item: T) => Promise<void>, signal: AbortSignal): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: unknown;
  for await (const item of items) {
    signal.throwIfAborted();
    if (failure) break;
    const p = job(item).catch((err) => {
      failure ??= err;
    }).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure) throw failure;
}
