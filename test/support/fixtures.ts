import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, copyFile, truncate, stat, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { makeDemoBackups, type DemoBackups } from '../../scripts/lib/demo-backups.ts';
import type { RunReport } from '../../src/report/types.ts';
import { repoRoot } from './backends.ts';

let backups: Promise<DemoBackups> | undefined;
/** Real pg_dump output of a seeded database, made once per test process. */
export function demoBackups(): Promise<DemoBackups> {
  backups ??= mkdtemp(join(tmpdir(), 'restoreproof-test-fixtures-')).then(async (dir) => {
    // Shared by every suite of the process, so it goes when the process does (mocha --exit included).
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const made = await makeDemoBackups(dir);
    // Damaged variants the bad-input tests restore.
    const truncated = join(dir, 'shop-truncated.dump');
    await copyFile(made.shopDump, truncated);
    await truncate(truncated, Math.floor((await stat(made.shopDump)).size / 2));
    const truncatedGz = join(dir, 'analytics-truncated.sql.gz');
    await copyFile(made.analyticsSqlGz, truncatedGz);
    await truncate(truncatedGz, Math.floor((await stat(made.analyticsSqlGz)).size / 2));
    // A plain SQL "backup" whose restore takes long enough to interrupt, deterministically.
    await writeFile(join(dir, 'slow.sql'), 'create table t (id int);\nselect pg_sleep(600);\n');
    // A baseline that disagrees with the backup: one count changed, one table dropped from the schema.
    const base = JSON.parse(await readFile(made.baseline, 'utf8'));
    base.databases.shop.tables['public.orders'] += 1;
    base.databases.shop.schema.objects = base.databases.shop.schema.objects.filter((o: string) => !o.startsWith('column public.orders.status'));
    base.databases.shop.schema.objects.push('column public.orders.discount numeric');
    base.databases.shop.schema.sha256 = '0'.repeat(64);
    await writeFile(join(dir, 'baseline-wrong.json'), JSON.stringify(base, null, 2));
    return made;
  });
  return backups;
}

export const fixtureDrill = (name: string) => join(repoRoot, 'test/fixtures/drills', name);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed after `killAfterMs` without having exited. */
  hung: boolean;
}

type RunOptions = { cwd?: string; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void; killAfterMs?: number };

/** Runs the real CLI in a child process, as a user would. */
export function runCli(args: string[], options: RunOptions & { env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCommand(process.execPath, [join(repoRoot, 'bin/restoreproof.js'), ...args], { ...options, env: { ...process.env, CI: 'true', ...options.env } });
}

/** Runs a command in the repo with exactly `env`, collecting its output. */
export function runCommand(command: string, args: string[], options: RunOptions & { env: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? repoRoot, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // A CLI that has not exited by then is killed and reported as hung (no timed assertion: a hang fails).
    let hung = false;
    const killer = options.killAfterMs === undefined ? undefined : setTimeout(() => ((hung = true), child.kill('SIGKILL')), options.killAfterMs);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      options.onStderr?.(stderr, child);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

const reportSchema = JSON.parse(readFileSync(join(repoRoot, 'schemas/report.schema.json'), 'utf8'));
const validateSchema = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile<RunReport>(reportSchema);

/** Every report a test produces goes through this: the schema must describe what we actually write. */
export function assertValidReport(report: unknown): asserts report is RunReport {
  if (!validateSchema(report)) throw new Error(`report does not match schemas/report.schema.json:\n${JSON.stringify(validateSchema.errors, null, 2)}`);
}

export async function readReport(dir: string, runId: string): Promise<RunReport> {
  const report = JSON.parse(await readFile(join(dir, `${runId}.json`), 'utf8'));
  assertValidReport(report);
  return report;
}

/** Processes whose command line mentions `needle` (leftover servers of a run). */
export async function processesMatching(needle: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(`${pid} ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
