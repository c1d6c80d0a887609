// The MongoDB and S3 clients load on first use: a drill without such stores never pays for them
// (together about 70 MiB of the harness's resident memory).
import type { MongoClient, MongoClientOptions } from 'mongodb';

let mongodb: Promise<typeof import('mongodb')> | undefined;
let minio: Promise<typeof import('minio')> | undefined;

export const loadMinio = (): Promise<typeof import('minio')> => (minio ??= import('minio'));

export async function newMongoClient(url: string, options: MongoClientOptions): Promise<MongoClient> {
  const { MongoClient } = await (mongodb ??= import('mongodb'));
  return new MongoClient(url, options);
}
