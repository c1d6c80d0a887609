import { access, readdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, delimiter } from 'node:path';

export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function findOnPath(tool: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, tool)))) return join(dir, tool);
  }
  return undefined;
}

export async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

/** A server or tool binary: the drill's explicit path, then an environment variable, then PATH. */
export async function resolveBinary(candidates: { explicit?: string | undefined; envVar: string; names: string[] }, what: string, hint: string): Promise<string> {
  const { ToolNotFoundError } = await import('../errors.ts');
  const searched: string[] = [];
  for (const path of [candidates.explicit, process.env[candidates.envVar]]) {
    if (!path) continue;
    searched.push(path);
    if (await isExecutable(path)) return path;
  }
  for (const name of candidates.names) {
    const found = await findOnPath(name);
    if (found) return found;
    searched.push(`${name} on PATH`);
  }
  throw new ToolNotFoundError(what, searched, `${hint}; or set ${candidates.envVar}`);
}
