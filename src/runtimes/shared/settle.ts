export interface ServerLook {
  /** How the server stopped (exit code, signal, OOM), or undefined while the platform says it runs. */
  stopped(): Promise<string | undefined>;
  /** The server answers its readiness probe (a query, a ping). */
  answers(): Promise<boolean>;
}

/**
 * Decides, after a tool failed against a store, whether the store's server died under it. The
 * platform learns of a death a moment after the tool does (Docker updates a container's state
 * from an asynchronous event; a child's exit arrives as a signal), so one look right after the
 * tool returns can miss it. Looks again until the server is seen stopped (how it stopped) or
 * answers again (undefined: it is alive and the tool failed on its own), or `timeoutMs` passes.
 */
export async function settledDeath(look: ServerLook, timeoutMs = 10_000, intervalMs = 100): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const how = await look.stopped();
    if (how) return how;
    if (Date.now() >= deadline || (await look.answers())) return undefined;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A probe as a yes/no answer. */
export async function answers(probe: (() => Promise<unknown>) | undefined): Promise<boolean> {
  if (!probe) return false;
  try {
    await probe();
    return true;
  } catch {
    return false;
  }
}
