import { runTool, type ToolResult } from './process.ts';

const asked = new Map<string, Promise<ToolResult>>();

/**
 * What `binary ...args` prints about its version, asked once per process: preflight reports every
 * tool's version and a local server's start records its own, and some binaries are slow to answer
 * (MinIO: 0.3-0.8 s here, on the bucket's path to its restore). A run that failed to start is asked again.
 */
export function askVersion(binary: string, args: string[]): Promise<ToolResult> {
  const key = [binary, ...args].join('\u0000');
  let answer = asked.get(key);
  if (!answer) {
    answer = runTool({ command: binary, args, captureStdout: true, signal: AbortSignal.timeout(10_000) });
    asked.set(key, answer);
    answer.catch(() => asked.delete(key));
  }
  return answer;
}
