import type { Runtime, StartedStore } from '../types.ts';
import { enginesWith, serverOf } from '../hosted.ts';
import { runLocalAppTask, startLocalApp } from './app.ts';

const localServer = (engine: Parameters<typeof serverOf>[0]) => serverOf(engine, 'local', 'local');

/** Stores as server processes started from binaries installed on this machine, as each engine declares them. */
export const localRuntime: Runtime = {
  name: 'local',
  engines: enginesWith('local'),
  describeProvision: async ({ spec }) => localServer(spec.engine).describe(spec),
  // freePort() closes its probe before the server binds; another process can take the port in
  // between. A server that lost it exits at once, so start it again on a new port, once.
  provision: async (request): Promise<StartedStore> => {
    const server = localServer(request.spec.engine);
    try {
      return await server.start(request);
    } catch (err) {
      if (!/address already in use|EADDRINUSE|could not bind|bind: /i.test(String((err as Error).message))) throw err;
      return server.start(request);
    }
  },
  startApp: startLocalApp,
  runAppTask: runLocalAppTask,
};
