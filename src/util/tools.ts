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

/**
 * A server or tool binary: the drill's explicit path, then an environment variable, then PATH. A
 * path the drill names is the one used or the run stops: falling back to another binary would run a
 * server the drill did not ask for.
 */
export async function resolveBinary(candidates: { explicit?: string | undefined; envVar: string; names: string[] }, what: string, hint: string): Promise<string> {
  const { ToolNotFoundError } = await import('../errors.ts');
  if (candidates.explicit) {
    if (await isExecutable(candidates.explicit)) return candidates.explicit;
    throw new ToolNotFoundError(what, [candidates.explicit], `${candidates.explicit} is named for it but is not an executable file: fix the path, or leave it out to use ${candidates.envVar} or PATH`);
  }
  const searched: string[] = [];
  const fromEnv = process.env[candidates.envVar];
  if (fromEnv) {
    searched.push(fromEnv);
    if (await isExecutable(fromEnv)) return fromEnv;
  }
  for (const name of candidates.names) {
    const found = await findOnPath(name);
    if (found) return found;
    searched.push(`${name} on PATH`);
  }
  throw new ToolNotFoundError(what, searched, `${hint}; or set ${candidates.envVar}`);
}
