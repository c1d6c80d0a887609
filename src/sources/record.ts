import type { ArtefactInfo } from './local.ts';
import type { SourceRecord, StagedArtefact } from './staging.ts';

/** What the report's artefact record adds for a fetched artefact. */
export function stagedFields(staged: StagedArtefact | undefined) {
  if (!staged) return {};
  const { chosen, ...rest } = staged.selection;
  return { ref: staged.ref, selection: { ...rest, chosen }, source: staged.source, ...(staged.encryptionKeyId ? { encryptionKeyId: staged.encryptionKeyId } : {}) };
}

/** The evidence of a pod-fetched artefact once its pod has checked it (digest, size); unchanged before. */
export function podFetchedSource(info: ArtefactInfo, source: SourceRecord): SourceRecord {
  const pod = info.fetchedInPod;
  if (!pod?.actual) return source;
  const { actual, expected } = pod;
  return {
    ...source,
    sha256: actual.sha256,
    integrity: {
      ...source.integrity,
      sha256: !expected ? 'not-checked' : expected.sha256 === actual.sha256 ? 'verified' : 'mismatch',
      size: actual.size === info.size ? 'verified' : 'mismatch',
    },
  };
}
