import { relative, resolve, sep } from 'node:path';
import { loadBaselineFile } from '../../drill/baseline.ts';
import type { StoreSpec } from '../../drill/types.ts';
import { engineFor } from '../../engines/index.ts';
import type { InspectOptions, VerifiedArtefact } from '../../engines/types.ts';
import { DrillConfigError, StepConfigError, specPath } from '../../errors.ts';
import { stagedFields } from '../../sources/record.ts';
import { drillOf, phase, Stop, type RunContext } from '../context.ts';

/**
 * One step's artefact as its engine reads it (size, digest, format), named by its store and with
 * its point in time (the modification time when the artefact claims none). Undefined: a remote
 * source the engine reads itself.
 */
export async function inspectStep(storeName: string, store: StoreSpec, step: number, drillDir: string, options: InspectOptions = {}): Promise<VerifiedArtefact | undefined> {
  const verified = await engineFor(store).inspect(store, step, drillDir, options);
  if (!verified) return undefined;
  verified.store = storeName;
  verified.pointInTime ??= { at: verified.info.modifiedAt, source: verified.info.kind === 'directory' ? 'newest file modification time' : 'file modification time' };
  return verified;
}

/** verify: every artefact exists and is what the drill says (size, format, header), before any store starts; digests follow in the background. */
export async function verifyPhase(ctx: RunContext): Promise<void> {
  const drill = drillOf(ctx);
  const { report } = ctx;
  const artefacts = await phase(ctx, 'verify', async () => {
    const found: VerifiedArtefact[] = [];
    const problems: unknown[] = [];
    // Stores are inspected side by side (a bucket mirror's listing is most of the phase); results are recorded in the drill's order.
    const inspected = await Promise.all(Object.entries(ctx.stores).map(async ([name, store]) => {
      const steps: Array<{ index: number; verified?: VerifiedArtefact | undefined; error?: unknown }> = [];
      for (const index of store.restore.keys()) {
        const known = ctx.staged.find((s) => s.store === name && s.step === index)?.info;
        try {
          steps.push({ index, verified: await inspectStep(name, store, index, drill.dir, known ? { known } : { hash: false }) });
        } catch (error) {
          steps.push({ index, error });
        }
      }
      return { name, steps };
    }));
    for (const { name, steps } of inspected) {
      for (const { index, verified, error } of steps) {
        if (error !== undefined) {
          if (!(error instanceof StepConfigError)) problems.push(error);
          else {
            ctx.configError = true;
            const path = ['spec', 'stores', name, 'restore', index, error.field];
            problems.push(new DrillConfigError([{ file: drill.file, path: specPath(path), ...drill.locate(path), message: error.message }], error.hint));
          }
          continue;
        }
        if (!verified) continue;
        const fetched = ctx.staged.find((s) => s.store === name && s.step === index);
        found.push(verified);
        // Read while the stores start and restore, once the listings above no longer share the thread with the hashing.
        if (!fetched && !verified.info.fetchedInPod && !verified.info.sha256) ctx.digests.start(verified, ctx.signal);
        const { info } = verified;
        report.artefact({
          store: name, step: index, ref: info.ref, path: fetched ? fetched.ref : pathFromDrill(drill.dir, info.path), host: report.report.host.hostname, kind: info.kind, size: info.size, sha256: info.sha256, modifiedAt: info.modifiedAt,
          compression: info.compression, format: verified.format, pointInTime: verified.pointInTime!, ...(info.entries !== undefined ? { entries: info.entries } : {}), ...stagedFields(fetched),
        });
      }
    }
    for (const check of drill.document.spec.checks ?? []) {
      if ((check.type === 'baseline' || check.type === 'schema') && !report.report.drill.includes.some((i) => i.path === resolve(drill.dir, check.baseline))) {
        try {
          const b = await loadBaselineFile(check.baseline, drill.dir);
          report.include({ path: b.path, sha256: b.sha256 });
        } catch (err) {
          problems.push(err);
        }
      }
    }
    if (problems.length) {
      problems.slice(1).forEach((p) => report.error(p));
      throw problems[0];
    }
    return found;
  });
  if (!artefacts || ctx.signal.aborted) throw new Stop();
  ctx.artefacts = artefacts;
}

/** An artefact's location as an auditor reads it on another machine: relative to the drill, with / separators. */
function pathFromDrill(drillDir: string, path: string): string {
  return relative(drillDir, path).split(sep).join('/') || '.';
}
