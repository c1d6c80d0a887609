import { isAbsolute, resolve } from 'node:path';
import { RestoreproofError } from '../../errors.ts';
import { parseDuration } from '../../util/duration.ts';
import { runTool } from '../../util/process.ts';
import { redact } from '../../util/redact.ts';
import type { AppRequest, AppTaskResult, Runtime, StartedApp } from '../types.ts';
import { freePort, LocalServer } from './server.ts';
import { probePort } from '../shared/probe-port.ts';

/** argv[0] with a slash is a path relative to the drill; a bare name is looked up on PATH. */
function commandPath(command: string, drillDir: string): string {
  return command.includes('/') && !isAbsolute(command) ? resolve(drillDir, command) : command;
}

/**
 * The app as a process on this machine: its temp dir and label carry the run id
 * (`restoreproof-<run-id>-app-*`, env RESTOREPROOF_RUN_ID), it is detached in its own process group
 * (stopped as a group, so wrappers such as `npm start` take their children with them), and it is
 * ready once its port accepts TCP connections.
 */
export const startLocalApp: NonNullable<Runtime['startApp']> = async (request: AppRequest): Promise<StartedApp> => {
  const { spec } = request;
  if (!spec.command) throw new RestoreproofError('E_DRILL_CONFIG', 'the local runtime needs spec.app.command', { exitCode: 2 });
  const port = spec.port ?? (await freePort());
  const env = await request.env(undefined, port);
  const server = await LocalServer.create({ runId: request.runId, storeName: 'app' });
  try {
    const [command, ...args] = spec.command;
    server.start(commandPath(command!, request.drillDir), args, {
      cwd: spec.cwd ? resolve(request.drillDir, spec.cwd) : request.drillDir,
      // The allow-listed variables (childEnv), HOME, and what the drill gives it: never the harness's secrets.
      env: { HOME: process.env.HOME ?? server.dir, PORT: String(port), ...env, RESTOREPROOF_RUN_ID: request.runId, RESTOREPROOF_TMPDIR: server.dir },
      group: true,
    });
    const timeoutMs = parseDuration(spec.startTimeout ?? '2m');
    try {
      await server.waitReady('app', () => probePort(port), request.signal, timeoutMs);
    } catch (err) {
      if (err instanceof RestoreproofError) {
        const tail = redact(server.logTail(20));
        const why = server.running ? `did not accept connections on 127.0.0.1:${port} within ${spec.startTimeout ?? '2m'}` : 'exited during start-up';
        throw new RestoreproofError('E_APP_START', `app (${spec.command!.join(' ')}) ${why}; last log lines:\n${tail || '(no output)'}`, { hint: 'the app must listen on $PORT (or spec.app.port) on 127.0.0.1' });
      }
      throw err;
    }
    const baseUrl = `http://127.0.0.1:${port}`;
    return {
      baseUrl,
      get resources() {
        return server.resources;
      },
      get running() {
        return server.running;
      },
      logTail: (lines = 20) => redact(server.logTail(lines)),
      connectionHelp: () => [`app: ${baseUrl}  (pid ${server.pid}, dir ${server.dir})`, `  stop it: kill -TERM -${server.pid} && rm -rf ${server.dir}`],
      keep: () => server.keep(),
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
};

/** The migration: one process to completion, its output kept for the report. */
export const runLocalAppTask: NonNullable<Runtime['runAppTask']> = async (request): Promise<AppTaskResult> => {
  const { spec } = request;
  const env = await request.env();
  const [command, ...args] = spec.command;
  const timeout = AbortSignal.timeout(parseDuration(spec.timeout ?? '10m'));
  const run = await runTool({
    command: commandPath(command!, request.drillDir),
    args,
    cwd: spec.cwd ? resolve(request.drillDir, spec.cwd) : request.drillDir,
    env: { ...(process.env.HOME ? { HOME: process.env.HOME } : {}), ...env, RESTOREPROOF_RUN_ID: request.runId },
    signal: AbortSignal.any([request.signal, timeout]),
    captureStdout: true,
  });
  const log = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-20).join('\n');
  return { exitCode: run.exitCode, signal: run.signal, log: redact(log), durationMs: run.durationMs };
};
