import { join } from 'node:path';
import { newMongoClient } from './client.ts';
import type { MongoStoreSpec, StoreSpec } from '../../drill/types.ts';
import { resolveBinary } from '../../util/tools.ts';
import type { ProvisionRequest, StartedStore } from '../../runtimes/types.ts';
import type { LocalServerDeclaration } from '../../runtimes/servers.ts';
import { describeLocalBinary, freePort, LocalServer, LocalStore } from '../../runtimes/local/server.ts';

export function mongoServerBinary(spec: MongoStoreSpec): Promise<string> {
  return resolveBinary(
    { explicit: spec.server, envVar: 'RESTOREPROOF_MONGOD', names: ['mongod'] },
    'MongoDB server (mongod)',
    'install MongoDB, or set server in the store to mongod or another MongoDB-wire server',
  );
}

export async function mongoToolDir(spec: MongoStoreSpec): Promise<string> {
  const explicit = spec.binDir ? join(spec.binDir, 'mongorestore') : process.env.RESTOREPROOF_MONGO_TOOLS ? join(process.env.RESTOREPROOF_MONGO_TOOLS, 'mongorestore') : undefined;
  const found = await resolveBinary({ explicit, envVar: 'RESTOREPROOF_MONGORESTORE', names: ['mongorestore'] }, 'mongorestore', 'install the MongoDB Database Tools, or set binDir in the store (or RESTOREPROOF_MONGO_TOOLS)');
  return join(found, '..');
}

/**
 * An ephemeral MongoDB-wire server on loopback. With `mongod` it is a standalone server in the run's
 * temp dir; FerretDB (SQLite handler) is accepted as a stand-in and told apart by its binary name.
 */
export async function startLocalMongo(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as MongoStoreSpec;
  const binary = await mongoServerBinary(spec);
  const tools = await mongoToolDir(spec);
  const server = await LocalServer.forStore(request);
  try {
    const port = await freePort();
    const ferret = /ferretdb/i.test(binary.split('/').pop() ?? '');
    if (ferret) {
      server.start(binary, [
        `--listen-addr=127.0.0.1:${port}`, '--handler=sqlite', `--sqlite-url=file:${server.dir}/`, `--state-dir=${server.dir}`,
        '--telemetry=disable', '--debug-addr=-', '--log-level=warn',
      ]);
    } else {
      server.start(binary, ['--dbpath', server.dir, '--port', String(port), '--bind_ip', '127.0.0.1', '--nounixsocket', '--quiet']);
    }
    const url = `mongodb://127.0.0.1:${port}/`;
    const endpoint = { host: '127.0.0.1', port, user: '', password: '' };
    const version = await server.waitReady(ferret ? 'ferretdb' : 'mongod', async () => {
      const client = await newMongoClient(url, { serverSelectionTimeoutMS: 1000, directConnection: true });
      try {
        await client.connect();
        const info = await client.db('admin').command({ buildInfo: 1 });
        return `${info.version}${ferret ? ' (FerretDB)' : ''}`;
      } finally {
        await client.close().catch(() => {});
      }
    }, request.signal);
    return new LocalStore({
      name: request.storeName,
      engine: 'mongodb',
      server,
      endpoint,
      version,
      tool: (name) => join(tools, name),
      toolEnv: {},
      url: (database = '') => `mongodb://127.0.0.1:${port}/${database}`,
      connectionHelp: () => [
        `${request.storeName}: mongodb://127.0.0.1:${port}/  (loopback only, no auth; dir ${server.dir}, pid ${server.pid})`,
        `  stop it: kill ${server.pid} && rm -rf ${server.dir}`,
      ],
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** mongod (or FerretDB) on the local runtime; mongorestore from the MongoDB Database Tools. */
export const mongoLocalServer: LocalServerDeclaration = {
  start: startLocalMongo,
  describe: (spec: StoreSpec) => describeLocalBinary(() => mongoServerBinary(spec as MongoStoreSpec)),
  tools: async (spec: StoreSpec) => [
    { name: 'mongod', find: () => mongoServerBinary(spec as MongoStoreSpec) },
    { name: 'mongorestore', find: async () => `${await mongoToolDir(spec as MongoStoreSpec)}/mongorestore` },
  ],
};
