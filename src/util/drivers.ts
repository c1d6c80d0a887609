// The MongoDB and S3 clients load on first use: a drill without such stores never pays for them
// (together about 70 MiB of the harness's resident memory).
import type { MongoClient, MongoClientOptions } from 'mongodb';
import { InterruptedError } from '../errors.ts';

let mongodb: Promise<typeof import('mongodb')> | undefined;
let minio: Promise<typeof import('minio')> | undefined;

export const loadMinio = (): Promise<typeof import('minio')> => (minio ??= import('minio'));

/**
 * With a signal, an abort closes the client: the connections that wait on a running operation
 * are closed first, so an interrupted run does not wait for it.
 */
export async function newMongoClient(url: string, options: MongoClientOptions, signal?: AbortSignal): Promise<MongoClient> {
  if (signal?.aborted) throw new InterruptedError(signal, `before connecting to ${url.replace(/\/\/[^@/]*@/, '//')}`);
  const { MongoClient } = await (mongodb ??= import('mongodb'));
  const client = new MongoClient(url, options);
  if (signal) {
    const close = () => void client.close().catch(() => {});
    signal.addEventListener('abort', close, { once: true });
    client.once('topologyClosed', () => signal.removeEventListener('abort', close));
  }
  return client;
}
