import { AuthenticationError, RestoreproofError } from '../../errors.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';

export interface RedisConnection {
  sendCommand(args: string[]): Promise<unknown>;
  /** Bulk strings as Buffers, arguments as given: for binary payloads (DUMP, RESTORE) and keys that are not UTF-8. */
  sendBinary(args: (string | Buffer)[]): Promise<unknown>;
  close(): Promise<void>;
}

/** A connected client; errors say whether the password or the server is the problem. */
export async function redisClient(endpoint: StoreEndpoint, db = 0): Promise<RedisConnection> {
  // Imported on first use: the client costs ~30 MiB, which a drill without a Redis store never needs.
  const { createClient, RESP_TYPES } = await import('redis');
  const client = createClient({ socket: { host: endpoint.host, port: endpoint.port, connectTimeout: 5000, reconnectStrategy: false }, password: endpoint.password, database: db });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    const message = (err as Error).message;
    if (/WRONGPASS|NOAUTH|invalid password/i.test(message)) throw new AuthenticationError(`redis ${endpoint.host}:${endpoint.port}`, 'the server refused the password');
    throw new RestoreproofError('E_CONNECT', `redis ${endpoint.host}:${endpoint.port}: ${message}`);
  }
  return {
    sendCommand: (args) => client.sendCommand(args),
    sendBinary: (args) => client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).sendCommand(args),
    close: async () => {
      await client.close().catch(() => {});
    },
  };
}

/** Readiness probe of both runtimes: the server answers INFO and has finished loading its snapshot; returns its version. */
export async function redisServerVersion(endpoint: StoreEndpoint): Promise<string> {
  const client = await redisClient(endpoint);
  try {
    const info = String(await client.sendCommand(['INFO', 'server']));
    if (/loading:1/.test(String(await client.sendCommand(['INFO', 'persistence'])))) throw new Error('still loading the snapshot');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? '';
  } finally {
    await client.close();
  }
}
