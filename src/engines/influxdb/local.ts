import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { influxQuery } from './client.ts';
import type { InfluxStoreSpec, StoreSpec } from '../../drill/types.ts';
import { registerSecret } from '../../util/redact.ts';
import { resolveBinary } from '../../util/tools.ts';
import type { ProvisionRequest, StartedStore } from '../../runtimes/types.ts';
import type { LocalServerDeclaration } from '../../runtimes/servers.ts';
import { describeLocalBinary, freePort, LocalServer, LocalStore } from '../../runtimes/local/server.ts';

export function influxdBinary(spec: Pick<InfluxStoreSpec, 'server'>): Promise<string> {
  return resolveBinary({ explicit: spec.server, envVar: 'RESTOREPROOF_INFLUXD', names: ['influxd'] }, 'influxd (InfluxDB 1.x)', 'install InfluxDB 1.x (Debian: apt-get install influxdb) or set server in the store');
}

/**
 * InfluxDB 1.x in a fresh temp dir: a generated config (HTTP and the backup/restore RPC service on
 * free loopback ports, meta/data/wal in the dir, reporting and the _internal store off), HTTP
 * authentication on with a generated admin created before anything is restored.
 */
export async function startLocalInflux(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as InfluxStoreSpec;
  const binary = await influxdBinary(spec);
  const server = await LocalServer.forStore(request);
  try {
    const [port, rpcPort] = [await freePort(), await freePort()];
    const dir = server.dir;
    const config = [
      'reporting-disabled = true', `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]', `  dir = "${join(dir, 'meta')}"`, '  logging-enabled = false',
      '[data]', `  dir = "${join(dir, 'data')}"`, `  wal-dir = "${join(dir, 'wal')}"`, '  query-log-enabled = false',
      '[http]', '  enabled = true', `  bind-address = "127.0.0.1:${port}"`, '  auth-enabled = true', '  log-enabled = false',
      '[monitor]', '  store-enabled = false',
      '[subscriber]', '  enabled = false',
      '[continuous_queries]', '  enabled = false',
    ];
    await writeFile(join(dir, 'influxdb.conf'), `${config.join('\n')}\n`, { mode: 0o600 });
    await server.own(join(dir, 'influxdb.conf'));
    server.start(binary, ['run', '-config', join(dir, 'influxdb.conf')]);
    const version = await server.waitReady('influxd', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/ping`);
      if (response.status !== 204) throw new Error(`/ping answered ${response.status}`);
      return response.headers.get('x-influxdb-version') ?? '';
    }, request.signal);
    const user = `restoreproof_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(24).toString('base64url');
    registerSecret(password);
    // With no user yet, InfluxDB accepts exactly this statement unauthenticated.
    await influxQuery({ host: '127.0.0.1', port, user: '', password: '' }, `CREATE USER "${user}" WITH PASSWORD '${password}' WITH ALL PRIVILEGES`);
    const endpoint = { host: '127.0.0.1', port, user, password };
    return new LocalStore({
      name: request.storeName,
      engine: 'influxdb',
      server,
      endpoint,
      version,
      tool: (name) => (name === 'influxd' ? binary : join(binary, '..', name)),
      toolEnv: {},
      // `influxd backup` and `influxd restore` talk to the RPC service, not HTTP.
      toolUrl: () => `127.0.0.1:${rpcPort}`,
      url: (database) => `http://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database ? `query?db=${encodeURIComponent(database)}` : ''}`,
      connectionHelp: () => [
        `${request.storeName}: http://127.0.0.1:${port} (user ${user}; RPC 127.0.0.1:${rpcPort}; dir ${dir}, pid ${server.pid})`,
        `  password: generated and not printed; influx -host 127.0.0.1 -port ${port} -username ${user} -password <password>`,
        `  stop it: kill ${server.pid} && rm -rf ${dir}`,
      ],
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** InfluxDB 1.x on the local runtime: a generated config and admin, HTTP and RPC on free loopback ports. */
export const influxLocalServer: LocalServerDeclaration = {
  start: startLocalInflux,
  describe: (spec: StoreSpec) => describeLocalBinary(() => influxdBinary(spec as InfluxStoreSpec), 'generated config and admin password'),
  tools: async (spec: StoreSpec) => [{ name: 'influxd', find: () => influxdBinary(spec as InfluxStoreSpec), versionArgs: ['version'] }],
};
