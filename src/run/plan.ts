import { checkId, checkTitle } from '../checks/types.ts';
import { engineFor } from '../engines/index.ts';
import type { VerifiedArtefact } from '../engines/types.ts';
import { runtimes } from '../runtimes/index.ts';
import type { Drill, RuntimeName } from '../spec/types.ts';
import { inspectLocalArtefact } from '../sources/local.ts';

/** Every step a run would take, as lines of text. Reads nothing but file metadata. */
export async function planDrill(drill: Drill, options: { runtime?: RuntimeName } = {}): Promise<string[]> {
  const doc = drill.document;
  const runtimeName = options.runtime ?? doc.spec.runtime ?? 'local';
  const runtime = runtimes[runtimeName];
  const lines = [`drill ${doc.metadata.name} (${drill.file}, sha256 ${drill.sha256.slice(0, 12)}), runtime ${runtimeName}`];
  lines.push('1. verify artefacts (size, sha256, format) before anything starts');
  const artefacts: VerifiedArtefact[] = [];
  for (const [name, store] of Object.entries(doc.spec.stores)) {
    for (const [index, step] of store.restore.entries()) {
      try {
        const info = await inspectLocalArtefact(step.artefact, drill.dir, { hash: false });
        const format = engineFor(store).detectFormat(store as never, index, info);
        artefacts.push({ store: name, step: index, info, format });
        lines.push(`   - ${name}: ${info.path} (${info.size} bytes, ${format}${info.compression === 'none' ? '' : `, ${info.compression}`})`);
      } catch (err) {
        lines.push(`   !! ${name}: ${(err as Error).message}`);
      }
    }
  }
  lines.push('2. provision (stores in parallel)');
  for (const [name, store] of Object.entries(doc.spec.stores)) {
    lines.push(`   - ${name}: ${store.engine}${store.version ? ` ${store.version}` : ''}`);
    for (const l of await runtime.describeProvision({ drillName: doc.metadata.name, storeName: name, spec: store, drillDir: drill.dir })) lines.push(`       ${l}`);
  }
  lines.push('3. restore (stores in parallel, steps in order)');
  for (const [name, store] of Object.entries(doc.spec.stores)) {
    for (const l of engineFor(store).describeRestore(store as never, artefacts.filter((a) => a.store === name))) lines.push(`   - ${name}: ${l}`);
  }
  lines.push('4. checks');
  for (const [i, check] of (doc.spec.checks ?? []).entries()) lines.push(`   - ${checkId(check, i)}: ${check.type} ${checkTitle(check)}`);
  lines.push('5. teardown: stop every store and delete its temp dir (also on failure, SIGINT, SIGTERM)');
  lines.push(`6. reports: ${(doc.spec.report?.formats ?? ['json', 'junit', 'markdown', 'html']).join(', ')} into ${doc.spec.report?.dir ?? 'reports'}/<run-id>.*`);
  return lines;
}
