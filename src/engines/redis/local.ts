import { randomBytes } from 'node:crypto';
import { cp, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RestoreproofError } from '../../errors.ts';
import { redisServerVersion } from './client.ts';
import type { RedisStoreSpec, StoreSpec } from '../../drill/types.ts';
import { registerSecret } from '../../util/redact.ts';
import { resolveBinary } from '../../util/tools.ts';
import type { ProvisionRequest, StartedStore } from '../../runtimes/types.ts';
import type { LocalServerDeclaration } from '../../runtimes/servers.ts';
import { describeLocalBinary, freePort, LocalServer, LocalStore } from '../../runtimes/local/server.ts';

export function redisServerBinary(spec: RedisStoreSpec): Promise<string> {
  return resolveBinary({ explicit: spec.server, envVar: 'RESTOREPROOF_REDIS_SERVER', names: ['redis-server'] }, 'redis-server', 'install Redis (Debian: apt-get install redis-server) or set server in the store');
}

/**
 * Redis restores by starting on a copy of the snapshot: the RDB (or AOF directory) is copied into a
 * fresh dir before the server starts, so the source file is never opened for writing.
 */
export async function startLocalRedis(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as RedisStoreSpec;
  const binary = await redisServerBinary(spec);
  const artefact = request.artefacts?.[0];
  if (!artefact) throw new RestoreproofError('E_PROVISION', `store ${request.storeName}: redis needs its artefact before it starts`);
  const server = await LocalServer.forStore(request);
  try {
    const aof = artefact.format === 'aof';
    if (aof) await cp(artefact.info.path, join(server.dir, 'appendonlydir'), { recursive: true });
    else await copyFile(artefact.info.path, join(server.dir, 'dump.rdb'));
    const password = randomBytes(24).toString('base64url');
    registerSecret(password);
    const port = await freePort();
    // A config file, not arguments: the password must not show in the process list.
    const config = [
      `port ${port}`, 'bind 127.0.0.1', 'protected-mode yes', `dir ${server.dir}`, 'dbfilename dump.rdb', `requirepass ${password}`,
      'save ""', aof ? 'appendonly yes' : 'appendonly no', 'appenddirname appendonlydir', 'daemonize no', 'logfile ""',
    ];
    await writeFile(join(server.dir, 'redis.conf'), `${config.join('\n')}\n`, { mode: 0o600 });
    await server.own(server.dir);
    server.start(binary, [join(server.dir, 'redis.conf')]);
    const endpoint = { host: '127.0.0.1', port, user: 'default', password };
    const version = await server.waitReady('redis-server', () => redisServerVersion(endpoint), request.signal);
    return new LocalStore({
      name: request.storeName,
      engine: 'redis',
      server,
      endpoint,
      version,
      tool: (name) => join(binary, '..', name),
      toolEnv: { REDISCLI_AUTH: password },
      url: (db = '0') => `redis://default:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`,
      connectionHelp: () => [
        `${request.storeName}: redis://127.0.0.1:${port}  (dir ${server.dir}, pid ${server.pid})`,
        `  password: generated and not printed; it is in ${join(server.dir, 'redis.conf')} (mode 0600)`,
        `  stop it: kill ${server.pid} && rm -rf ${server.dir}`,
      ],
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** redis-server on the local runtime, started on a copy of the snapshot. */
export const redisLocalServer: LocalServerDeclaration = {
  start: startLocalRedis,
  describe: (spec: StoreSpec) => describeLocalBinary(() => redisServerBinary(spec as RedisStoreSpec), 'generated password, started on a copy of the snapshot'),
  tools: async (spec: StoreSpec) => [{ name: 'redis-server', find: () => redisServerBinary(spec as RedisStoreSpec) }],
};
