import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startLocalMinio } from '../../src/engines/s3/local.ts';
import { s3Client } from '../../src/engines/s3/client.ts';
import { ObjectPutter, S3RequestError } from '../../src/engines/s3/put-object.ts';
import { newRunId } from '../../src/run/identity.ts';
import type { StartedStore } from '../../src/runtimes/types.ts';
import { requireBackends, useTestbedBinaries } from '../support/backends.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('s3: the signed PUT a bucket restore uses for small objects (a real MinIO)', function () {
  let store: StartedStore;
  let putter: ObjectPutter;

  before(async function () {
    requireBackends(this, 'minio');
    useTestbedBinaries();
    store = await startLocalMinio({ runId: newRunId(), drillName: 'put-object', storeName: 'bucket', spec: { engine: 's3', restore: [] } as never, drillDir: '/', signal: new AbortController().signal });
    await (await s3Client(store.endpoint)).makeBucket('restored', 'us-east-1');
    putter = new ObjectPutter(store.endpoint, 4);
  });
  after(async () => {
    putter?.close();
    await store?.stop();
  });

  it('puts keys S3 must percent-encode, and empty and multi-chunk bodies, byte for byte', async () => {
    const client = await s3Client(store.endpoint);
    const objects: [string, Buffer][] = [
      ['plain.txt', Buffer.from('hello\n')],
      ['a dir/with space+plus/file (1)!*\'.bin', Buffer.from([0, 1, 2, 255])],
      ['unicode/grüße/日本.json', Buffer.from('{"ü":1}')],
      ['percent%20and~tilde', Buffer.alloc(0)],
      ['large/70k.bin', Buffer.alloc(70_000, 7)],
    ];
    for (const [key, body] of objects) {
      const etag = await putter.put('restored', key, body, sha256(body));
      assert.equal(etag, createHash('md5').update(body).digest('hex'), `${key}: the ETag of a single PUT is the body's MD5`);
      const read: Buffer[] = [];
      for await (const chunk of await client.getObject('restored', key)) read.push(chunk as Buffer);
      assert.deepEqual(Buffer.concat(read), body, key);
    }
  });

  it('a missing bucket fails with S3\'s code and names the key', async () => {
    const err = await putter.put('no-such-bucket', 'k', Buffer.from('x'), sha256(Buffer.from('x'))).catch((e: unknown) => e);
    assert.ok(err instanceof S3RequestError, String(err));
    assert.equal(err.code, 'NoSuchBucket');
    assert.match(err.message, /putting k/);
  });

  it('the signature covers the body: a body that does not match its sha256 is refused', async () => {
    const err = await putter.put('restored', 'tampered', Buffer.from('bytes as read'), sha256(Buffer.from('other bytes'))).catch((e: unknown) => e);
    assert.ok(err instanceof S3RequestError, String(err));
    assert.match(err.code, /SHA256Mismatch/i);
    await assert.rejects((await s3Client(store.endpoint)).statObject('restored', 'tampered'), 'nothing was stored');
  });
});
