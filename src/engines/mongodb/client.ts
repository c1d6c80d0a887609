// The MongoDB driver loads on first use: a drill without a MongoDB store never pays for it
// (the MongoDB and S3 clients together are about 70 MiB of the harness's resident memory).
import type { Document, MongoClient, MongoClientOptions } from 'mongodb';
import { InterruptedError } from '../../errors.ts';
import type { StartedStore } from '../../runtimes/types.ts';

let driver: Promise<typeof import('mongodb')> | undefined;

/**
 * With a signal, an abort closes the client: the connections that wait on a running operation
 * are closed first, so an interrupted run does not wait for it.
 */
export async function newMongoClient(url: string, options: MongoClientOptions, signal?: AbortSignal): Promise<MongoClient> {
  if (signal?.aborted) throw new InterruptedError(signal, `before connecting to ${url.replace(/\/\/[^@/]*@/, '//')}`);
  const { MongoClient } = await (driver ??= import('mongodb'));
  const client = new MongoClient(url, options);
  if (signal) {
    const close = () => void client.close().catch(() => {});
    signal.addEventListener('abort', close, { once: true });
    client.once('topologyClosed', () => signal.removeEventListener('abort', close));
  }
  return client;
}

export async function withMongo<T>(store: StartedStore, fn: (client: MongoClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const client = await newMongoClient(store.url(), { serverSelectionTimeoutMS: 5000, directConnection: true }, signal);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.close().catch(() => {});
  }
}

/** Dotted path into a document; arrays are not traversed. */
export function pick(doc: Document | null | undefined, path: string): unknown {
  let value: unknown = doc;
  for (const part of path.split('.')) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

