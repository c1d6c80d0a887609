import { mkdtemp } from 'node:fs/promises';
import { removeTree } from '../util/remove-tree.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../errors.ts';
import type { ResourceRecord } from '../runtimes/types.ts';
import type { ArtefactSourceSpec } from '../drill/types.ts';
import type { ArtefactInfo } from './local.ts';
import type { Selection } from './select.ts';

/** What the evidence records about a fetched artefact (report ArtefactRecord.source). */
export interface SourceRecord {
  url: string;
  object: string;
  kind: 'file' | 'directory';
  size: number;
  /** Digest of the object as stored (before decryption); directories: of the `path\tsize\tsha256` listing. */
  sha256: string;
  /** `mismatch` only for fetch: pod, whose record exists before the pod's digest is checked. */
  integrity: { sha256: 'verified' | 'not-checked' | 'mismatch'; from?: string; size: 'verified' | 'not-checked' | 'mismatch' };
  downloaded: boolean;
  /** `pod`: the store's pod downloaded it (fetch: pod); the digest was computed there. */
  fetchedBy?: 'harness' | 'pod';
  resumes?: number;
  decryption?: string;
  compression?: string;
  unpacked?: { entries: number; bytes: number; member?: string; verifiedBy?: string; files?: number };
}

export interface StagedArtefact {
  store: string;
  step: number;
  /** The source and chosen object, for messages and the report (never credentials). */
  ref: string;
  /** The local path the engine restores (`fetch: pod`: the path inside the store's pod). */
  path: string;
  /** `fetch: pod`: what the engine sees instead of a local file. */
  info?: ArtefactInfo;
  source: SourceRecord;
  selection: Selection;
  encryptionKeyId?: string;
}

export interface FetchJob {
  store: string;
  step: number;
  spec: ArtefactSourceSpec;
}

/** The run-owned staging dir: created on first use, removed at teardown whatever happened. */
export class Staging {
  readonly runId: string;
  dir: string | undefined;
  constructor(runId: string) {
    this.runId = runId;
  }
  async ensure(): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), `restoreproof-${this.runId}-staging-`));
    return this.dir;
  }
  async remove(): Promise<ResourceRecord | undefined> {
    if (!this.dir) return undefined;
    const record: ResourceRecord = { kind: 'directory', id: this.dir };
    try {
      await removeTree(this.dir);
      record.removed = true;
    } catch (err) {
      record.removed = false;
      record.error = errorMessage(err);
    }
    return record;
  }
}
