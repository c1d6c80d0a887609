import type { CheckSpec, Expectation, StoreSpec } from '../drill/types.ts';

/** A check as a drill writes it, before the suite names the store. */
export type CheckWithoutStore = CheckSpec extends infer C ? (C extends { store: string } ? Omit<C, 'store'> : never) : never;

/**
 * What an engine gives the conformance suite, which runs it on every runtime that hosts it: a tiny
 * backup in the engine's `conformance/` folder, and the count-like check that backup must pass.
 */
export interface EngineConformance<S extends StoreSpec = StoreSpec> {
  /** The store under test; `fixtures` is the engine's `conformance/` folder. */
  store(fixtures: string): S;
  /** The engine's counting check (rows, documents, objects, keys, points) with the given expectation; the suite adds the store. */
  count(expect: Expectation): CheckWithoutStore;
  /** What the count is on the fixture. */
  expected: number;
  /** The test bed backend that serves this engine's server and tools, when its name is not the engine's. */
  testbedBackend?: string;
  /** Reads the count from the check's reported `actual`, where that is not the number itself. */
  counted?(actual: unknown): unknown;
}
