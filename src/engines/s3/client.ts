import { createHash } from 'node:crypto';
import type * as Minio from 'minio';
import { loadMinio } from '../../util/drivers.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';

/** `probe`: no retries (and none of the client's retry warnings on stderr) while a starting server answers 503. */
export async function s3Client(endpoint: StoreEndpoint, options: { probe?: boolean } = {}): Promise<Minio.Client> {
  return new (await loadMinio()).Client({ endPoint: endpoint.host, port: endpoint.port, useSSL: false, accessKey: endpoint.user, secretKey: endpoint.password, region: 'us-east-1', ...(options.probe ? { retryOptions: { disableRetry: true } } : {}) });
}

export async function clientForUrl(url: string, accessKey: string, secretKey: string, region?: string): Promise<Minio.Client> {
  const u = new URL(url);
  const useSSL = u.protocol === 'https:';
  return new (await loadMinio()).Client({ endPoint: u.hostname, port: Number(u.port || (useSSL ? 443 : 80)), useSSL, accessKey, secretKey, ...(region ? { region } : {}) });
}

/** ListObjectsV2 pages, as a stream of objects in key order. */
export async function* listAll(clientOrPromise: Minio.Client | Promise<Minio.Client>, bucket: string, prefix: string): AsyncGenerator<{ key: string; size: number; etag?: string; lastModified?: Date }> {
  const client = await clientOrPromise;
  for await (const item of client.listObjectsV2(bucket, prefix, true) as AsyncIterable<Minio.BucketItem>) {
    if (!item.name) continue; // common prefixes never appear with recursive listing
    yield { key: item.name, size: item.size, ...(item.etag ? { etag: item.etag } : {}), ...(item.lastModified ? { lastModified: item.lastModified } : {}) };
  }
}

/** The sha256 of an object's bytes, streamed. */
export async function objectSha256(client: Minio.Client, bucket: string, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await client.getObject(bucket, key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** S3's "no such key" (getObject, statObject), as opposed to a failure to ask. */
export const isMissingObject = (err: unknown): boolean => ['NotFound', 'NoSuchKey'].includes((err as { code?: string }).code ?? '');
