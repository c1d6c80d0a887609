import type { Readable } from 'node:stream';
import { clientForUrl, listAll } from '../engines/s3/client.ts';
import { RestoreproofError, ExitCode } from '../errors.ts';
import { resolveSecret } from '../drill/secrets.ts';
import type { ArtefactSourceSpec } from '../drill/types.ts';
import { joinKey, sourceFailure, type SourceEntry, type SourceReader } from './reader.ts';

/**
 * `s3://bucket/prefix` on any S3-compatible endpoint. The endpoint and credentials come from the
 * step's `s3:` block (secret references) or AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
 */
export async function s3Reader(url: URL, spec: ArtefactSourceSpec, drillDir: string): Promise<SourceReader> {
  const bucket = url.hostname;
  const base = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const endpoint = spec.s3?.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new RestoreproofError('E_SOURCE', `${url.href}: no S3 endpoint`, { exitCode: ExitCode.usage, hint: 'set s3.endpoint in the artefact or AWS_ENDPOINT_URL' });
  const accessKey = spec.s3?.accessKey ? await resolveSecret(spec.s3.accessKey, drillDir, `${url.href} accessKey`) : (process.env.AWS_ACCESS_KEY_ID ?? '');
  const secretKey = spec.s3?.secretKey ? await resolveSecret(spec.s3.secretKey, drillDir, `${url.href} secretKey`) : (process.env.AWS_SECRET_ACCESS_KEY ?? '');
  const client = await clientForUrl(endpoint, accessKey, secretKey, spec.s3?.region ?? process.env.AWS_REGION);
  const display = `s3://${bucket}/${base}`;
  const unreachable = (err: unknown) => sourceFailure(`${display} at ${new URL(endpoint).origin}`, err, 'check the endpoint, the network path to it and the credentials (s3.accessKey/secretKey, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)');
  const full = (key: string) => joinKey(base, key);
  const rel = (key: string) => (base ? key.slice(base.replace(/\/$/, '').length + 1) : key);
  const statKey = async (key: string): Promise<SourceEntry | undefined> => {
    try {
      const s = await client.statObject(bucket, full(key));
      return { key, size: s.size, mtimeMs: s.lastModified.getTime() };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw unreachable(err);
    }
  };
  return {
    url: `${display} at ${new URL(endpoint).origin}`,
    async list(prefix) {
      const out: SourceEntry[] = [];
      const start = full(prefix);
      // An empty base lists the whole bucket; otherwise only below the base "folder".
      const listPrefix = base && !prefix ? `${base.replace(/\/$/, '')}/` : start;
      try {
        for await (const o of listAll(client, bucket, listPrefix)) out.push({ key: rel(o.key), size: o.size, mtimeMs: o.lastModified?.getTime() ?? 0 });
      } catch (err) {
        throw unreachable(err);
      }
      return out;
    },
    stat: statKey,
    async open(key, start) {
      try {
        return (start > 0 ? await client.getPartialObject(bucket, full(key), start) : await client.getObject(bucket, full(key))) as Readable;
      } catch (err) {
        throw unreachable(err);
      }
    },
    async readText(key) {
      if (!(await statKey(key))) return undefined;
      const chunks: Buffer[] = [];
      for await (const c of (await client.getObject(bucket, full(key))) as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    },
    async presign(key, seconds) {
      return client.presignedGetObject(bucket, full(key), seconds);
    },
    async close() {},
  };
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'NotFound' || code === 'NoSuchKey' || (err as Error)?.name === 'S3Error' && /not found|does not exist/i.test((err as Error).message);
}
