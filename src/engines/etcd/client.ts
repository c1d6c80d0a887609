import { RestoreproofError, errorMessage } from '../../errors.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';

/** What etcd's JSON gateway answers to a range request (int64 fields are strings, keys and values base64). */
interface RangeResponse {
  header?: { revision?: string };
  count?: string;
  more?: boolean;
  kvs?: { key: string; value?: string; mod_revision?: string; lease?: string }[];
}

/** A key as the gateway takes it: a string is UTF-8; a Buffer is sent as its bytes. */
const b64 = (key: string | Buffer) => (typeof key === 'string' ? Buffer.from(key, 'utf8') : key).toString('base64');

/** The end of a prefix range: the prefix with its last byte incremented (etcdctl's GetPrefixRangeEnd); '\0' for every key. */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix, 'utf8');
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * One request through etcd's gRPC JSON gateway on the client port (no gRPC client needed; /v3/ on
 * etcd 3.4 and later). The same request reaches a local process or a container's mapped port.
 */
async function call<T>(endpoint: StoreEndpoint, method: 'range' | 'put' | 'deleterange', body: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  const url = `http://${endpoint.host}:${endpoint.port}/v3/kv/${method}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...(signal ? { signal } : {}) });
  } catch (err) {
    throw new RestoreproofError('E_CONNECT', `etcd ${endpoint.host}:${endpoint.port}: ${errorMessage(err)}`);
  }
  const text = await response.text();
  if (!response.ok) throw new RestoreproofError('E_CHECK', `etcd ${endpoint.host}:${endpoint.port}: ${method} answered ${response.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

const range = (endpoint: StoreEndpoint, body: Record<string, unknown>, signal?: AbortSignal) => call<RangeResponse>(endpoint, 'range', body, signal);

/** The number of keys under a prefix (count only: no key or value crosses the wire), and the store's revision. */
export async function countPrefix(endpoint: StoreEndpoint, prefix: string, signal?: AbortSignal): Promise<{ count: number; revision: number }> {
  const answer = await range(endpoint, { key: prefix ? b64(prefix) : Buffer.from([0]).toString('base64'), range_end: prefixEnd(prefix).toString('base64'), count_only: true }, signal);
  return { count: Number(answer.count ?? 0), revision: Number(answer.header?.revision ?? 0) };
}

/** One key's value (undefined when absent). */
export async function getKey(endpoint: StoreEndpoint, key: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  return (await getEntry(endpoint, key, signal))?.value;
}

/** One key's value and the lease it is attached to ('0' for none); undefined when absent. */
export async function getEntry(endpoint: StoreEndpoint, key: string | Buffer, signal?: AbortSignal): Promise<{ value: Buffer; lease: string } | undefined> {
  const kv = (await range(endpoint, { key: b64(key) }, signal)).kvs?.[0];
  return kv ? { value: Buffer.from(kv.value ?? '', 'base64'), lease: kv.lease ?? '0' } : undefined;
}

/** Every key (no values), in byte order, read a page at a time. */
export async function* listKeys(endpoint: StoreEndpoint, signal?: AbortSignal): AsyncGenerator<Buffer> {
  let from = Buffer.from([0]);
  for (;;) {
    const page = await range(endpoint, { key: from.toString('base64'), range_end: Buffer.from([0]).toString('base64'), keys_only: true, limit: 1000 }, signal);
    const keys = (page.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64'));
    yield* keys;
    if (!page.more || keys.length === 0) return;
    from = Buffer.concat([keys.at(-1)!, Buffer.from([0])]);
  }
}

/** Writes a key (a new revision of it), attached to a lease when one is given. */
export async function putKey(endpoint: StoreEndpoint, key: Buffer, value: Buffer, lease: string, signal?: AbortSignal): Promise<void> {
  await call(endpoint, 'put', { key: b64(key), value: value.toString('base64'), ...(lease !== '0' ? { lease } : {}) }, signal);
}

/** Deletes one key. */
export async function deleteKey(endpoint: StoreEndpoint, key: Buffer, signal?: AbortSignal): Promise<void> {
  await call(endpoint, 'deleterange', { key: b64(key) }, signal);
}

/** Readiness probe of both runtimes: /health is true (a leader, the snapshot loaded) and /version names the server. */
export async function etcdServerVersion(endpoint: StoreEndpoint): Promise<string> {
  const base = `http://${endpoint.host}:${endpoint.port}`;
  const health = (await (await fetch(`${base}/health`)).json()) as { health?: string };
  if (health.health !== 'true') throw new Error(`/health answered ${JSON.stringify(health)}`);
  const version = (await (await fetch(`${base}/version`)).json()) as { etcdserver?: string };
  return version.etcdserver ?? '';
}
