import { randomBytes } from 'node:crypto';
import { generatedSecret, type ContainerServerDeclaration } from '../../runtimes/servers.ts';
import { postgresServerVersion } from './connect.ts';

/** PostgreSQL in the official image (or one like it): a generated superuser, durability off. */
export const postgresContainerServer: ContainerServerDeclaration = {
  image: { latest: 'postgres:latest', versioned: 'postgres:{version}' },
  recipe(request) {
    const user = `restoreproof_${randomBytes(3).toString('hex')}`;
    const password = generatedSecret();
    return {
      port: 5432, user, password,
      env: { POSTGRES_USER: user, POSTGRES_PASSWORD: password, POSTGRES_DB: 'postgres' },
      // Ephemeral: durability buys nothing here and costs restore time.
      command: ['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', `cluster_name=restoreproof-${request.runId}-${request.storeName}`],
      tools: ['pg_restore', 'psql'],
      // Over the container's own socket, where the image trusts local connections: no password in the exec.
      toolUser: 'postgres',
      toolEnv: { PGHOST: '/var/run/postgresql', PGPORT: '5432', PGUSER: user },
      probe: postgresServerVersion,
      url: (e, database = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@${e.host}:${e.port}/${encodeURIComponent(database)}`,
      toolUrl: (database = 'postgres') => `postgres://${user}@/${encodeURIComponent(database)}?host=/var/run/postgresql`,
      help: (e, id) => [
        `${request.storeName}: postgres://${user}@${e.host}:${e.port}/postgres  (container ${id.slice(0, 12)})`,
        `  password: generated and not printed; docker exec -it -u postgres ${id.slice(0, 12)} psql -U ${user} postgres`,
      ],
    };
  },
};
