import { randomBytes } from 'node:crypto';
import { errorMessage } from '../../errors.ts';
import { generatedSecret, type ContainerServerDeclaration } from '../../runtimes/servers.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';
import { influxQuery } from './client.ts';

/** The RPC service `influxd restore` talks to, inside the container (InfluxDB's default bind address). */
const rpcAddress = '127.0.0.1:8088';

/**
 * Ready once /ping answers and the generated admin can query. With no user yet, InfluxDB accepts
 * exactly the first CREATE USER … WITH ALL PRIVILEGES unauthenticated: the probe creates the admin
 * then, so the password travels only in that request (never in the container's environment).
 */
async function probeAndCreateAdmin(endpoint: StoreEndpoint): Promise<string> {
  const ping = await fetch(`http://${endpoint.host}:${endpoint.port}/ping`);
  if (ping.status !== 204) throw new Error(`/ping answered ${ping.status}`);
  try {
    await influxQuery(endpoint, 'SHOW DATABASES');
  } catch (err) {
    if (!/create admin user first/i.test(errorMessage(err))) throw err;
    await influxQuery({ ...endpoint, user: '', password: '' }, `CREATE USER "${endpoint.user}" WITH PASSWORD '${endpoint.password}' WITH ALL PRIVILEGES`);
    await influxQuery(endpoint, 'SHOW DATABASES');
  }
  return ping.headers.get('x-influxdb-version') ?? '';
}

/** InfluxDB 1.x in the official influxdb:1.x image (or one like it), configured through INFLUXDB_* variables. */
export const influxContainerServer: ContainerServerDeclaration = {
  image: { latest: 'influxdb:1.8', versioned: 'influxdb:{version}' },
  recipe(request) {
    const user = `restoreproof_${randomBytes(3).toString('hex')}`;
    const password = generatedSecret();
    return {
      port: 8086, user, password,
      env: {
        INFLUXDB_REPORTING_DISABLED: 'true',
        INFLUXDB_HTTP_AUTH_ENABLED: 'true',
        INFLUXDB_HTTP_LOG_ENABLED: 'false',
        INFLUXDB_DATA_QUERY_LOG_ENABLED: 'false',
        INFLUXDB_META_LOGGING_ENABLED: 'false',
        INFLUXDB_META_DIR: '/var/lib/influxdb/meta',
        INFLUXDB_DATA_DIR: '/var/lib/influxdb/data',
        INFLUXDB_DATA_WAL_DIR: '/var/lib/influxdb/wal',
        INFLUXDB_MONITOR_STORE_ENABLED: 'false',
        INFLUXDB_SUBSCRIBER_ENABLED: 'false',
        INFLUXDB_CONTINUOUS_QUERIES_ENABLED: 'false',
        INFLUXDB_BIND_ADDRESS: rpcAddress,
      },
      tools: ['influxd'], toolEnv: {},
      probe: probeAndCreateAdmin,
      url: (e, database) => `http://${user}:${encodeURIComponent(password)}@${e.host}:${e.port}/${database ? `query?db=${encodeURIComponent(database)}` : ''}`,
      toolUrl: () => rpcAddress,
      help: (e, id) => [
        `${request.storeName}: http://${e.host}:${e.port} (user ${user}; container ${id.slice(0, 12)})`,
        `  password: generated and not printed; docker exec -it ${id.slice(0, 12)} influx -username ${user} -password <password>`,
      ],
    };
  },
};
