import { checkId, checkTitle } from '../checks/types.ts';
import { engineFor } from '../engines/index.ts';
import type { VerifiedArtefact } from '../engines/types.ts';
import { chooseRuntime } from './phases/runtime.ts';
import { inspectStep } from './phases/verify.ts';
import { artefactSourceOf } from '../sources/artefact-source.ts';
import { describeSelect } from '../sources/select.ts';
import type { ArtefactInfo } from '../sources/local.ts';
import type { ArtefactSourceSpec, Drill, RuntimeChoice, StoreSpec } from '../drill/types.ts';

/**
 * A fetched artefact as the restore will see it, for describing the restore before anything is
 * fetched: named by its source and selection; its format from the step, else from the selected
 * name (a run detects it from the header once fetched).
 */
function plannedFetch(storeName: string, store: StoreSpec, step: number, source: ArtefactSourceSpec): VerifiedArtefact {
  const declared = (store.restore[step] as { format?: string; compression?: string }).format;
  const selected = source.unpack?.member ?? source.select?.latest ?? source.select?.explicit ?? source.select?.pattern ?? source.source;
  const gzip = (store.restore[step] as { compression?: string }).compression === 'gzip' || /\.gz$/.test(selected);
  const name = selected.replace(/\.gz$/, '');
  const folder = name.endsWith('/');
  const format = declared && declared !== 'auto' ? declared : engineFor(store).plannedFormat(name, folder);
  const path = `<fetched ${source.source}${source.select ? `, ${describeSelect(source.select)}` : ''}${source.unpack?.member ? `, member ${source.unpack.member}` : ''}>`;
  const info: ArtefactInfo = { kind: folder || format === 'directory' || format === 'aof' ? 'directory' : 'file', ref: source.source, path, size: 0, sha256: '', modifiedAt: '', compression: gzip ? 'gzip' : 'none', head: Buffer.alloc(0) };
  return { store: storeName, step, info, format };
}

/** Every step a run would take, as lines of text. Reads nothing but file metadata. */
export async function planDrill(drill: Drill, options: { runtime?: RuntimeChoice } = {}): Promise<string[]> {
  const doc = drill.document;
  // The run's own choice; asks the Docker engine for its version (for auto only), starts nothing.
  const { requested, selection, runtime } = await chooseRuntime(options.runtime, doc, { confirmContainers: false });
  const lines = [`drill ${doc.metadata.name} (${drill.file}, sha256 ${drill.sha256.slice(0, 12)}), runtime ${runtime.name}${requested === 'auto' && selection ? ` (auto: ${selection.reason})` : ''}`];
  lines.push('1. verify artefacts (size, sha256, format) before anything starts');
  const artefacts: VerifiedArtefact[] = [];
  for (const [name, store] of Object.entries(doc.spec.stores)) {
    for (const index of store.restore.keys()) {
      const source = artefactSourceOf(store.restore[index]!);
      if (source) {
        lines.push(`   - ${name}: step ${index + 1} is fetched first: ${source.source}, ${describeSelect(source.select)}${source.fetch === 'pod' ? ', downloaded by the store\'s pod (init container, presigned URL)' : ''}${source.sha256 ? ', sha256 checked' : ''}${source.decrypt ? ', decrypted' : ''}${source.unpack ? ', unpacked' : ''}`);
        artefacts.push(plannedFetch(name, store, index, source));
        continue;
      }
      try {
        const verified = await inspectStep(name, store, index, drill.dir, { hash: false });
        if (!verified) {
          lines.push(`   - ${name}: step ${index + 1} reads from a remote source`);
          continue;
        }
        artefacts.push(verified);
        const { info, format } = verified;
        lines.push(`   - ${name}: ${info.path} (${info.size} bytes${info.entries !== undefined ? ` in ${info.entries} files` : ''}, ${format}${info.compression === 'none' ? '' : `, ${info.compression}`})`);
      } catch (err) {
        lines.push(`   !! ${name}: ${(err as Error).message}`);
      }
    }
  }
  lines.push('2. provision (stores in parallel)');
  lines.push(`   network: ${networkLine(runtime.name, doc.spec.network?.egress === true)}`);
  for (const [name, store] of Object.entries(doc.spec.stores)) {
    lines.push(`   - ${name}: ${store.engine}${store.version ? ` ${store.version}` : ''}`);
    for (const l of await runtime.describeProvision({ drillName: doc.metadata.name, storeName: name, spec: store, drillDir: drill.dir, egress: doc.spec.network?.egress === true })) lines.push(`       ${l}`);
  }
  lines.push('3. restore (stores in parallel, steps in order)');
  for (const [name, store] of Object.entries(doc.spec.stores)) {
    for (const l of engineFor(store).describeRestore(store, artefacts.filter((a) => a.store === name))) lines.push(`   - ${name}: ${l}`);
  }
  lines.push('4. checks');
  for (const [i, check] of (doc.spec.checks ?? []).entries()) lines.push(`   - ${checkId(check, i)}: ${check.type} ${checkTitle(check)}`);
  lines.push('5. teardown: stop every store and delete its temp dir (also on failure, SIGINT, SIGTERM)');
  lines.push(`6. reports: ${(doc.spec.report?.formats ?? ['json', 'junit', 'markdown', 'html']).join(', ')} into ${doc.spec.report?.dir ?? 'reports'}/<run-id>.*`);
  return lines;
}

/** What the run's stores and app may reach, as the plan states it (spec.network.egress). */
function networkLine(runtime: string, egress: boolean): string {
  if (runtime === 'local') return 'not isolated: servers run as processes of this machine and reach what it reaches (spec.network has no effect here)';
  if (egress) return 'egress allowed (spec.network.egress: true): stores and app may reach any address';
  return runtime === 'kubernetes'
    ? 'no egress: default-deny NetworkPolicies; stores reach only their namespace, the app only the stores'
    : 'no egress: the run\'s network is internal; stores and app reach only each other (set spec.network.egress: true to allow more)';
}
