// One store restored on the local runtime without a drill run, for suites that damage and inspect it
// (state mutants, integrity checks): provision, inspect each step's artefact, restore; stop() removes it.
import assert from 'node:assert/strict';
import type { CheckContext } from '../../src/checks/types.ts';
import type { Drill, StoreSpec } from '../../src/drill/types.ts';
import { engineFor } from '../../src/engines/index.ts';
import type { VerifiedArtefact } from '../../src/engines/types.ts';
import { newRunId } from '../../src/run/identity.ts';
import { runtimes } from '../../src/runtimes/index.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';

export interface RestoredStore {
  store: StartedStore;
  artefacts: VerifiedArtefact[];
  /** What a check of this store gets, as the checks phase builds it. */
  checkContext(database: string): CheckContext;
  stop(): Promise<void>;
}

export async function restoreStore(spec: StoreSpec, drillDir: string, storeName = 'store'): Promise<RestoredStore> {
  const engine = engineFor(spec);
  const signal = new AbortController().signal;
  const artefacts: VerifiedArtefact[] = [];
  for (const step of spec.restore.keys()) {
    const verified = await engine.inspect(spec, step, drillDir, { hash: true });
    if (verified) artefacts.push({ ...verified, store: storeName });
  }
  const runId = newRunId();
  const store = await runtimes.local.provision({ runId, drillName: 'restored-store', storeName, spec, drillDir, signal, artefacts });
  try {
    const steps = await engine.restore(store, spec, artefacts, { signal, drillDir });
    assert.ok(steps.every((s) => s.status === 'passed'), JSON.stringify(steps));
  } catch (err) {
    await store.stop();
    throw err;
  }
  const stores = new Map([[storeName, store]]);
  return {
    store,
    artefacts,
    // The drill as far as checks read it: its folder and this one store.
    checkContext: (database) => ({ drill: { dir: drillDir, document: { spec: { stores: { [storeName]: spec } } } } as unknown as Drill, runId, store, stores, database, artefacts, signal }),
    stop: () => store.stop(),
  };
}
