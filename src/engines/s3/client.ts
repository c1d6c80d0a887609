import { createHash } from 'node:crypto';
import type * as Minio from 'minio';
import { loadMinio } from '../../util/drivers.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';
import { unquoteETag, uriEscape } from './put-object.ts';

/** `probe`: no retries (and none of the client's retry warnings on stderr) while a starting server answers 503. */
export async function s3Client(endpoint: StoreEndpoint, options: { probe?: boolean } = {}): Promise<Minio.Client> {
  return new (await loadMinio()).Client({ endPoint: endpoint.host, port: endpoint.port, useSSL: false, accessKey: endpoint.user, secretKey: endpoint.password, region: 'us-east-1', ...(options.probe ? { retryOptions: { disableRetry: true } } : {}) });
}

export async function clientForUrl(url: string, accessKey: string, secretKey: string, region?: string): Promise<Minio.Client> {
  const u = new URL(url);
  const useSSL = u.protocol === 'https:';
  return new (await loadMinio()).Client({ endPoint: u.hostname, port: Number(u.port || (useSSL ? 443 : 80)), useSSL, accessKey, secretKey, ...(region ? { region } : {}) });
}

const xmlEntities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** An XML element's text with its entity and character references decoded. */
function xmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) =>
    ref[0] === '#' ? String.fromCodePoint(ref[1] === 'x' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1))) : (xmlEntities[ref] ?? whole));
}

/** The text of the first `<tag>` element in xml[from, to), or undefined. */
function element(xml: string, tag: string, from = 0, to = xml.length): string | undefined {
  const open = xml.indexOf(`<${tag}>`, from);
  if (open < 0 || open >= to) return undefined;
  const close = xml.indexOf(`</${tag}>`, open);
  return close < 0 || close > to ? undefined : xmlText(xml.slice(open + tag.length + 2, close));
}

/**
 * ListObjectsV2 pages (signed by the client), as a stream of objects in key order. Each page is read
 * with indexOf, not the client's XML parser: parsing 1,000-object pages with it took about 35 MiB of
 * RSS while listing (8,000 objects), this about 5, and the same at any count. Keys are asked
 * URL-encoded (encoding-type=url) and decoded when the answer says they were.
 */
export async function* listAll(clientOrPromise: Minio.Client | Promise<Minio.Client>, bucket: string, prefix: string): AsyncGenerator<{ key: string; size: number; etag?: string; lastModified?: Date }> {
  const client = await clientOrPromise;
  let token: string | undefined;
  do {
    const query = ['list-type=2', 'encoding-type=url', `prefix=${uriEscape(prefix)}`, 'delimiter=', 'max-keys=1000', ...(token ? [`continuation-token=${uriEscape(token)}`] : [])].sort().join('&');
    const response = await client.makeRequestAsync({ method: 'GET', bucketName: bucket, query });
    let xml = '';
    response.setEncoding('utf8');
    for await (const chunk of response as AsyncIterable<string>) xml += chunk;
    if (!xml.includes('<ListBucketResult')) throw new Error(`ListObjectsV2 on bucket ${bucket}: the answer is not a ListBucketResult`);
    // Continuation first: the elements of <Contents> never share these names.
    token = element(xml, 'IsTruncated') === 'true' ? element(xml, 'NextContinuationToken') : undefined;
    // A server that does not URL-encode keys says nothing; its keys are as stored (XML-escaped).
    const urlEncoded = element(xml, 'EncodingType') === 'url';
    for (let at = xml.indexOf('<Contents>'); at >= 0; at = xml.indexOf('<Contents>', at + 10)) {
      const end = xml.indexOf('</Contents>', at);
      if (end < 0) throw new Error(`ListObjectsV2 on bucket ${bucket}: a <Contents> element is not closed`);
      const key = element(xml, 'Key', at, end);
      if (key === undefined) continue;
      const etag = element(xml, 'ETag', at, end);
      const lastModified = element(xml, 'LastModified', at, end);
      yield { key: urlEncoded ? decodeURIComponent(key.replace(/\+/g, ' ')) : key, size: Number(element(xml, 'Size', at, end) ?? 0), ...(etag ? { etag: unquoteETag(etag) } : {}), ...(lastModified ? { lastModified: new Date(lastModified) } : {}) };
      at = end;
    }
  } while (token);
}

/** The sha256 of an object's bytes, streamed. */
export async function objectSha256(client: Minio.Client, bucket: string, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await client.getObject(bucket, key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** S3's "no such key" (getObject, statObject), as opposed to a failure to ask. */
export const isMissingObject = (err: unknown): boolean => ['NotFound', 'NoSuchKey'].includes((err as { code?: string }).code ?? '');
