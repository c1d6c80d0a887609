import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RestoreproofError, ExitCode } from '../errors.ts';
import { sha256 } from '../util/hash.ts';

/** What `restoreproof baseline capture` writes: the source's state at backup time. */
export interface BaselineFile {
  kind: 'restoreproof/baseline';
  version: 1;
  engine: string;
  capturedAt: string;
  tool: { name: string; version: string };
  /** Where it was read from; never holds credentials. */
  source: { host: string; port: number; user: string; serverVersion: string };
  /** How the counts were read, e.g. one REPEATABLE READ READ ONLY snapshot per database. */
  consistency: string;
  databases: Record<string, BaselineDatabase>;
}

/** One database of a baseline: row counts per table (or collection), the schema fingerprint, and with --content the rows' digests. */
export interface BaselineDatabase {
  tables: Record<string, number>;
  schema: { sha256: string; objects: string[] };
  /**
   * `sha256:<hex>` per table over its rows in a fixed order, as the engine's own text (or BSON) of
   * each row: the same digest of the restored table proves every row came back unchanged. Optional,
   * so version 1 files without it still load.
   */
  digests?: Record<string, string>;
}

export interface LoadedBaseline {
  path: string;
  sha256: string;
  content: BaselineFile;
}

export async function loadBaselineFile(ref: string, baseDir: string): Promise<LoadedBaseline> {
  const path = resolve(baseDir, ref);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RestoreproofError('E_BASELINE', `baseline file ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`, {
      exitCode: ExitCode.usage,
      hint: 'capture one with: restoreproof baseline capture <drill> --store <name> --from <connection> -o <file>',
    });
  }
  let content: BaselineFile;
  try {
    content = JSON.parse(text) as BaselineFile;
  } catch (err) {
    throw new RestoreproofError('E_BASELINE', `baseline file ${path} is not valid JSON: ${(err as Error).message}`, { exitCode: ExitCode.usage });
  }
  if (content.kind !== 'restoreproof/baseline' || content.version !== 1 || typeof content.databases !== 'object') {
    throw new RestoreproofError('E_BASELINE', `${path} is not a restoreproof baseline (kind restoreproof/baseline, version 1)`, { exitCode: ExitCode.usage });
  }
  return { path, sha256: sha256(text), content };
}
