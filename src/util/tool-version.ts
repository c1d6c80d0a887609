import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { userCacheDir } from './compile-cache.ts';
import { runTool, type ToolResult } from './process.ts';

const asked = new Map<string, Promise<ToolResult>>();

/**
 * What `binary ...args` prints about its version, asked once per process: preflight reports every
 * tool's version and a local server's start records its own, and some binaries are slow to answer
 * (MinIO: 0.3-1.0 s here, most of it its own package initialisation). A clean answer is also kept
 * on disk (toolVersionCacheFile), keyed by the binary's inode, size and change time, so the next
 * run on this machine reads it instead; a replaced binary has a new key. A run that failed to start is asked again.
 */
export function askVersion(binary: string, args: string[]): Promise<ToolResult> {
  const key = [binary, ...args].join('\u0000');
  let answer = asked.get(key);
  if (!answer) {
    answer = rememberedOrAsked(binary, args);
    asked.set(key, answer);
    answer.catch(() => asked.delete(key));
  }
  return answer;
}

/** `$XDG_CACHE_HOME/restoreproof/tool-versions.json`: answers of binaries that exited 0. */
export const toolVersionCacheFile = () => join(userCacheDir(), 'tool-versions.json');

type Remembered = Record<string, { stdout: string; stderr: string }>;

/** The file as this process first read it: looked up for every binary (a write reads it afresh). */
let rememberedAtStart: Promise<Remembered> | undefined;

async function rememberedOrAsked(binary: string, args: string[]): Promise<ToolResult> {
  const identity = await stat(binary).then((s) => `${s.dev}:${s.ino}:${s.size}:${s.ctimeMs}`, () => undefined);
  const key = identity && [binary, identity, ...args].join('\u0000');
  if (key && process.env.RESTOREPROOF_TOOL_VERSION_CACHE !== 'off') {
    const remembered = (await (rememberedAtStart ??= readRemembered()))[key];
    if (remembered) return { exitCode: 0, signal: null, durationMs: 0, ...remembered };
  }
  const answer = await runTool({ command: binary, args, captureStdout: true, signal: AbortSignal.timeout(10_000) });
  if (key && answer.exitCode === 0 && process.env.RESTOREPROOF_TOOL_VERSION_CACHE !== 'off') await remember(key, answer).catch(() => {});
  return answer;
}

async function readRemembered(): Promise<Remembered> {
  try {
    const parsed: unknown = JSON.parse(await readFile(toolVersionCacheFile(), 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Remembered) : {};
  } catch {
    return {};
  }
}

/** Written whole through a rename, so a concurrent run reads the old file or the new one; a lost update is only asked again. */
async function remember(key: string, answer: ToolResult): Promise<void> {
  const file = toolVersionCacheFile();
  const all = await readRemembered();
  all[key] = { stdout: answer.stdout.slice(0, 4096), stderr: answer.stderr.slice(0, 4096) };
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}`;
  await writeFile(temp, JSON.stringify(all), { mode: 0o600 });
  await rename(temp, file);
}
