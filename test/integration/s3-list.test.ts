// Listing a bucket (listAll, read without the client's XML parser), against the client's own
// ListObjectsV2 on a real MinIO: keys that are percent-encoded or XML-escaped on the wire, several
// pages, a prefix, and what a listed object carries.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type * as Minio from 'minio';
import { startLocalMinio } from '../../src/engines/s3/local.ts';
import { listAll, s3Client } from '../../src/engines/s3/client.ts';
import { ObjectPutter } from '../../src/engines/s3/put-object.ts';
import { newRunId } from '../../src/run/identity.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';

describe('s3: listing a bucket page by page (a real MinIO)', function () {
  let store: StartedStore;
  let client: Minio.Client;
  const oddKeys = ['a dir/with space+plus/file (1)!*\'.bin', 'unicode/grüße/日本.json', 'percent%20and~tilde', 'amp&lt;tag>"quote\'', 'plus+only', 'x/€'];
  /** Over two pages of 1,000: the continuation token is followed. */
  const manyKeys = Array.from({ length: 1_205 }, (_, i) => `many/${String(i).padStart(5, '0')}.txt`);

  before(async function () {
    requireBackends(this, 'minio');
    useTestbedBinaries();
    store = await startLocalMinio({ runId: newRunId(), drillName: 'list', storeName: 'bucket', spec: { engine: 's3', restore: [] } as never, drillDir: '/', signal: new AbortController().signal });
    client = await s3Client(store.endpoint);
    await client.makeBucket('listed', 'us-east-1');
    const putter = new ObjectPutter(store.endpoint, 16);
    try {
      await Promise.all([...oddKeys, ...manyKeys].map((key, i) => {
        const body = Buffer.alloc(i % 7, 1);
        return putter.put('listed', key, body, createHash('sha256').update(body).digest('hex'));
      }));
    } finally {
      putter.close();
    }
  });
  after(async () => {
    await store?.stop();
  });

  /** What the client's own listing says, field by field. */
  async function clientListing(prefix: string) {
    const out: { key: string; size: number; etag?: string; lastModified?: number }[] = [];
    for await (const item of client.listObjectsV2('listed', prefix, true) as AsyncIterable<Minio.BucketItem>) out.push({ key: item.name!, size: item.size, etag: item.etag, lastModified: item.lastModified?.getTime() });
    return out;
  }
  async function ours(prefix: string) {
    const out: { key: string; size: number; etag?: string; lastModified?: number }[] = [];
    for await (const o of listAll(client, 'listed', prefix)) out.push({ key: o.key, size: o.size, etag: o.etag, lastModified: o.lastModified?.getTime() });
    return out;
  }

  it('lists every object once, in key order, with the same key, size, ETag and time as the client, over several pages', async () => {
    const listed = await ours('');
    assert.equal(listed.length, oddKeys.length + manyKeys.length);
    assert.deepEqual(new Set(listed.map((o) => o.key)), new Set([...oddKeys, ...manyKeys]));
    const utf8Order = [...listed].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    assert.deepEqual(listed.map((o) => o.key), utf8Order.map((o) => o.key), 'key order');
    assert.deepEqual(listed, await clientListing(''));
    assert.ok(listed.every((o) => /^[0-9a-f]{32}$/.test(o.etag ?? '') && Number.isFinite(o.lastModified)), 'an ETag without quotes and a time for each');
  });

  it('a prefix with characters that must be escaped lists only what is under it', async () => {
    assert.deepEqual((await ours('a dir/with space+plus/')).map((o) => o.key), ['a dir/with space+plus/file (1)!*\'.bin']);
    assert.deepEqual((await ours('unicode/grüße/')).map((o) => o.key), ['unicode/grüße/日本.json']);
    assert.deepEqual(await ours('many/0100'), await clientListing('many/0100'));
    assert.equal((await ours('many/0100')).length, 10);
    assert.deepEqual(await ours('nothing-here/'), []);
  });

  it('a bucket that does not exist is an error, not an empty listing', async () => {
    await assert.rejects(async () => {
      for await (const _ of listAll(client, 'no-such-bucket', '')) assert.fail('listed something');
    }, /NoSuchBucket|does not exist/);
  });
});
