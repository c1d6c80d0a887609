/**
 * keep() and an idempotent stop() around a runtime's own teardown: what every started store and
 * app shares. Kept (incident mode), stop() does nothing; otherwise the teardown runs once, and
 * every later stop() waits for that same run.
 */
export class Teardown {
  #kept = false;
  #stopping: Promise<void> | undefined;
  readonly #run: () => Promise<void>;

  constructor(run: () => Promise<void>) {
    this.#run = run;
  }

  /** Whether stop() has begun (a stopping resource no longer counts as running). */
  get begun(): boolean {
    return this.#stopping !== undefined;
  }

  keep(): void {
    this.#kept = true;
  }

  stop(): Promise<void> {
    if (this.#kept) return Promise.resolve();
    this.#stopping ??= this.#run();
    return this.#stopping;
  }
}

/** A started store whose keep(), stop() and `await using` come from its runtime's teardown(). */
export abstract class DisposableStore {
  readonly #teardown = new Teardown(() => this.teardown());

  /** Removes what the store made; runs at most once. */
  protected abstract teardown(): Promise<void>;

  keep(): void {
    this.#teardown.keep();
  }

  stop(): Promise<void> {
    return this.#teardown.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
