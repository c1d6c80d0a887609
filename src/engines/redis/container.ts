import { RestoreproofError } from '../../errors.ts';
import { generatedSecret, type ContainerServerDeclaration } from '../../runtimes/servers.ts';
import { redisServerVersion } from './client.ts';

/** Redis in its official image, started on the snapshot (or AOF directory) written into the container first. */
export const redisContainerServer: ContainerServerDeclaration = {
  image: { latest: 'redis:latest', versioned: 'redis:{version}' },
  recipe(request) {
    const artefact = request.artefacts?.[0];
    if (!artefact) throw new RestoreproofError('E_PROVISION', `store ${request.storeName}: redis needs its artefact before it starts`);
    const password = generatedSecret();
    const aof = artefact.format === 'aof';
    // A config file, not arguments: the password must not show in `docker inspect` or the process list.
    const config = [
      'port 6379', 'bind 0.0.0.0', 'protected-mode no', 'dir /data', 'dbfilename dump.rdb', `requirepass ${password}`, 'save ""',
      ...(aof ? ['appendonly yes', 'appenddirname appendonlydir'] : ['appendonly no']),
    ];
    return {
      port: 6379, user: 'default', password, env: {},
      command: ['/data/restoreproof.conf'],
      ...(aof ? { directories: [{ source: artefact.info.path, target: '/data/appendonlydir' }] } : { files: [{ source: artefact.info.path, target: '/data/dump.rdb' }] }),
      contents: [{ content: `${config.join('\n')}\n`, target: '/data/restoreproof.conf', mode: 0o644 }],
      tools: [], toolEnv: { REDISCLI_AUTH: password },
      probe: redisServerVersion,
      url: (e, db = '0') => `redis://default:${encodeURIComponent(password)}@${e.host}:${e.port}/${db}`,
      toolUrl: (db = '0') => `redis://127.0.0.1:6379/${db}`,
      help: (e, id) => [`${request.storeName}: redis://${e.host}:${e.port}  (password generated, not printed; docker exec -it ${id.slice(0, 12)} redis-cli)`],
    };
  },
};
