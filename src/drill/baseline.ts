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
  databases: Record<string, { tables: Record<string, number>; schema: { sha256: string; objects: string[] } }>;
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
