import { RestoreproofError } from '../../errors.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';

export interface InfluxSeries {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}

/**
 * One InfluxQL statement through the HTTP API (`POST /query`), credentials in a Basic header so
 * they stay out of URLs and logs. Returns the statement's series; an InfluxQL error throws.
 */
export async function influxQuery(endpoint: StoreEndpoint, q: string, database?: string, signal?: AbortSignal): Promise<InfluxSeries[]> {
  const body = new URLSearchParams({ q, ...(database ? { db: database } : {}) });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...basicAuth(endpoint) };
  const response = await fetch(`http://${endpoint.host}:${endpoint.port}/query`, { method: 'POST', body, headers, ...(signal ? { signal } : {}) });
  const text = await response.text();
  let json: { results?: { series?: InfluxSeries[]; error?: string }[]; error?: string };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new RestoreproofError('E_INFLUX', `InfluxDB answered ${response.status} to ${q}: ${text.slice(0, 200)}`);
  }
  const error = json.error ?? json.results?.[0]?.error;
  if (!response.ok || error) throw new RestoreproofError('E_INFLUX', `InfluxDB: ${q}: ${error ?? `HTTP ${response.status}`}`);
  return json.results?.[0]?.series ?? [];
}

const basicAuth = (endpoint: StoreEndpoint): Record<string, string> =>
  endpoint.user ? { authorization: `Basic ${Buffer.from(`${endpoint.user}:${endpoint.password}`).toString('base64')}` } : {};

/** Writes line protocol (timestamps in nanoseconds) into a database's default retention policy. */
export async function influxWrite(endpoint: StoreEndpoint, database: string, lines: string[], signal?: AbortSignal): Promise<void> {
  const response = await fetch(`http://${endpoint.host}:${endpoint.port}/write?${new URLSearchParams({ db: database, precision: 'ns' })}`, { method: 'POST', body: lines.join('\n'), headers: basicAuth(endpoint), ...(signal ? { signal } : {}) });
  if (response.status !== 204) throw new RestoreproofError('E_INFLUX', `InfluxDB: write into ${database} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
}

/** `influxdb` identifiers in InfluxQL: double quotes, with `"` and `\` escaped. */
export const quoteIdent = (name: string) => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
