import { spawn, type SpawnOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { redact } from './redact.ts';

/**
 * What a child process inherits from ours: where programs are, temp space, and how text is read.
 * Nothing else: the harness's environment holds secrets (source credentials, passphrases, tokens)
 * that a tool, a server or the app must never see (a backup's `COPY … FROM PROGRAM 'env'` would).
 */
const inheritedVariables = ['PATH', 'TMPDIR', 'LANG', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ'] as const;

/** The allow-listed part of this process's environment, plus `extra`. */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of inheritedVariables) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

export interface ToolRun {
  command: string;
  args: string[];
  /** Added to the allow-listed variables (childEnv); the harness's own environment is never passed whole. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Streamed to the tool's stdin; never buffered whole. */
  stdin?: Readable;
  signal?: AbortSignal;
  uid?: number;
  gid?: number;
  /** Keep at most this many bytes of stderr (the tail). */
  stderrLimit?: number;
  /** Capture stdout (small outputs only). */
  captureStdout?: boolean;
}

export interface ToolResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
  durationMs: number;
  /** Reading the input failed (a truncated gzip stream, an unreadable file): the tool saw partial input. */
  inputError?: string;
}

/** Runs a tool to completion. A non-zero exit is a result, not an exception; only a failure to start throws. */
export async function runTool(run: ToolRun): Promise<ToolResult> {
  const started = performance.now();
  const options: SpawnOptions = {
    env: childEnv(run.env),
    stdio: [run.stdin ? 'pipe' : 'ignore', run.captureStdout ? 'pipe' : 'ignore', 'pipe'],
    ...(run.cwd ? { cwd: run.cwd } : {}),
    ...(run.signal ? { signal: run.signal, killSignal: 'SIGTERM' as const } : {}),
    ...(run.uid !== undefined ? { uid: run.uid } : {}),
    ...(run.gid !== undefined ? { gid: run.gid } : {}),
  };
  const child = spawn(run.command, run.args, options);
  const limit = run.stderrLimit ?? 64 * 1024;
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-limit);
  });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout = (stdout + d).slice(-limit);
  });
  let inputError: string | undefined;
  const feeding = run.stdin && child.stdin
    ? pipeline(run.stdin, child.stdin).catch((err: NodeJS.ErrnoException) => {
        // The tool closing its stdin early (it failed) is reported through its exit code; a
        // failure to read the input is not, and a tool may well exit 0 on partial input.
        if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_PREMATURE_CLOSE' && err.code !== 'ABORT_ERR') inputError = err.message;
      })
    : Promise.resolve();
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolvePromise, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') return; // 'close' follows with the signal
      reject(err);
    });
    child.once('close', (code, sig) => resolvePromise([code, sig]));
  });
  await feeding;
  return { exitCode, signal, stderr: redact(stderr), stdout: redact(stdout), durationMs: performance.now() - started, ...(inputError ? { inputError: redact(inputError) } : {}) };
}
