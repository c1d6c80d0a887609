// The npm package as users get it: `npm pack` of this repository (which runs the prepack build),
// made once per test process, and npm commands run the way a user's shell runs them.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { repoRoot } from './backends.ts';
import { demoBackups } from './fixtures.ts';

export interface PackedTarball {
  file: string;
  /** Paths inside the package, as `npm pack --json` lists them. */
  files: string[];
  size: number;
  unpackedSize: number;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: without this repository's node_modules/.bin on PATH (mocha
 * runs under it), so that `npx` in a project finds that project's Node, not ours.
 */
export function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  const ours = join(repoRoot, 'node_modules');
  const path = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.startsWith(ours)).join(delimiter);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('npm_')) env[k] = v;
  return { ...env, PATH: path, ...extra };
}

export function command(cmd: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Fails with the command's output when it did not exit 0. */
export async function succeed(cmd: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CommandResult> {
  const result = await command(cmd, args, options);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${options.cwd}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

let packed: Promise<PackedTarball> | undefined;
/** `npm pack` of the repository into a temp dir that goes when the process does. */
export function packedTarball(): Promise<PackedTarball> {
  packed ??= mkdtemp(join(tmpdir(), 'restoreproof-test-pack-')).then(async (dir) => {
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    // The prepack build runs under npm, with the repo's node_modules/.bin (Node 24, tsc) on PATH.
    const { stdout } = await succeed('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repoRoot });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
    return { file: join(dir, info!.filename), files: info!.files.map((f) => f.path), size: info!.size, unpackedSize: info!.unpackedSize };
  });
  return packed;
}

/** An empty project with the tarball and Node 24 (the npm `node` package) installed, as docs/ci.md has users do. */
export async function installedProject(tarball: string, extraPackages: string[] = []): Promise<string> {
  const project = await mkdtemp(join(tmpdir(), 'restoreproof-test-consumer-'));
  await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'drills', private: true, type: 'module' }, null, 2)}\n`);
  await succeed('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, 'node@24', ...extraPackages], { cwd: project });
  return project;
}

/**
 * The demo drill (`drillFile`, drills/demo.yaml as shipped) at <dir>/drills/demo.yaml, beside real
 * pg_dump backups of the demo database in drills/backups/demo (what scripts/demo.ts makes). Returns that backups dir.
 */
export async function placeDemoDrill(dir: string, drillFile: string): Promise<string> {
  const fixtures = await demoBackups();
  const backups = join(dir, 'drills/backups/demo');
  await mkdir(backups, { recursive: true });
  await copyFile(drillFile, join(dir, 'drills/demo.yaml'));
  for (const f of [fixtures.shopDump, fixtures.analyticsSqlGz, fixtures.baseline]) await copyFile(f, join(backups, basename(f)));
  return backups;
}
