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
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (endpoint.user) headers.authorization = `Basic ${Buffer.from(`${endpoint.user}:${endpoint.password}`).toString('base64')}`;
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

/** `influxdb` identifiers in InfluxQL: double quotes, with `"` and `\` escaped. */
export const quoteIdent = (name: string) => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
