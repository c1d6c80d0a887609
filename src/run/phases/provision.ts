import { podFetchedSource } from '../../sources/record.ts';
import { drillOf, phase, runtimeOf, Stop, type RunContext } from '../context.ts';

/** provision: independent stores start concurrently; each started store is torn down at the end of the run. */
export async function provisionPhase(ctx: RunContext): Promise<void> {
  const drill = drillOf(ctx);
  const runtime = runtimeOf(ctx);
  const doc = drill.document;
  const provisioned = await phase(ctx, 'provision', async () => {
    const results = await Promise.allSettled(
      Object.entries(ctx.stores).map(async ([storeName, spec]) => {
        const store = await runtime.provision({ runId: ctx.runId, drillName: doc.metadata.name, storeName, spec, drillDir: drill.dir, signal: ctx.signal, artefacts: ctx.artefacts.filter((a) => a.store === storeName), egress: doc.spec.network?.egress === true });
        ctx.started.push(store);
        ctx.report.updateStore(storeName, { version: store.version });
        return store;
      }),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected.length) {
      rejected.slice(1).forEach((r) => ctx.report.error(r.reason));
      throw rejected[0]!.reason;
    }
    return true;
  });
  // fetch: pod: the digests the store pods computed go into the evidence, passed or not.
  for (const a of ctx.artefacts) {
    const actual = a.info.fetchedInPod?.actual;
    if (!actual) continue;
    const source = ctx.report.report.artefacts.find((r) => r.store === a.store && r.step === a.step)?.source;
    ctx.report.podFetched(a.store, a.step, actual.sha256, source && podFetchedSource(a.info, source));
  }
  if (!provisioned || ctx.signal.aborted) throw new Stop();
}
