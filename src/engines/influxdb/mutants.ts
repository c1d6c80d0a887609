// State mutants of a restored InfluxDB 1.x store (`restoreproof mutate`): delete-row deletes the
// points of one measurement at its newest timestamp (every series), and the undo writes them back
// from what was read before, as line protocol with nanosecond timestamps and each field's type.
import type { InfluxStoreSpec } from '../../drill/types.ts';
import type { StoreEndpoint } from '../../runtimes/types.ts';
import type { EngineMutants, StateMutant } from '../types.ts';
import { influxQuery, influxWrite, quoteIdent } from './client.ts';

/** Line protocol escapes: measurement (comma, space), tag keys, values and field keys (also =), string fields (", \). */
const escapeMeasurement = (text: string) => text.replace(/[\\, ]/g, (c) => `\\${c}`);
const escapeKey = (text: string) => text.replace(/[\\,= ]/g, (c) => `\\${c}`);
const escapeString = (text: string) => `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** RFC3339 with up to nine fractional digits (how InfluxQL prints time) as integer nanoseconds, exact. */
export function rfc3339Nanos(time: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(time);
  if (!m) throw new Error(`unexpected time ${time}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** One field value as line protocol writes it, by the type SHOW FIELD KEYS gives. */
export function fieldValue(value: unknown, type: string, what: string): string {
  switch (type) {
    case 'integer':
    case 'unsigned':
      // JSON numbers are doubles: beyond 2^53 the value read is not the value stored.
      if (!Number.isSafeInteger(value)) throw new Error(`${what} = ${String(value)} cannot be written back exactly`);
      return `${String(value)}${type === 'integer' ? 'i' : 'u'}`;
    case 'float':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return escapeString(String(value));
  }
}

async function retentionPolicies(endpoint: StoreEndpoint, database: string, signal: AbortSignal): Promise<number> {
  return (await influxQuery(endpoint, `SHOW RETENTION POLICIES ON ${quoteIdent(database)}`, undefined, signal))[0]?.values?.length ?? 0;
}

/** Deletes every point of `measurement` at its newest time; resolves to the write that puts them back. */
async function deleteNewest(endpoint: StoreEndpoint, database: string, measurement: string, signal: AbortSignal): Promise<() => Promise<void>> {
  const from = quoteIdent(measurement);
  const types = new Map(((await influxQuery(endpoint, `SHOW FIELD KEYS FROM ${from}`, database, signal))[0]?.values ?? []).map((v) => [String(v[0]), String(v[1])]));
  const newest = (await influxQuery(endpoint, `SELECT * FROM ${from} ORDER BY time DESC LIMIT 1`, database, signal))[0]?.values?.[0]?.[0];
  if (typeof newest !== 'string') throw new Error(`${database}.${measurement} has no points`);
  const series = await influxQuery(endpoint, `SELECT * FROM ${from} WHERE time = '${newest}' GROUP BY *`, database, signal);
  const lines: string[] = [];
  for (const s of series) {
    const tags = Object.entries(s.tags ?? {}).filter(([, v]) => v !== '').sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `,${escapeKey(k)}=${escapeKey(v)}`).join('');
    for (const row of s.values ?? []) {
      const fields = s.columns.flatMap((column, i) => (i === 0 || row[i] === null || row[i] === undefined ? [] : [`${escapeKey(column)}=${fieldValue(row[i], types.get(column) ?? 'string', `${measurement}.${column}`)}`]));
      lines.push(`${escapeMeasurement(measurement)}${tags} ${fields.join(',')} ${rfc3339Nanos(String(row[0]))}`);
    }
  }
  await influxQuery(endpoint, `DELETE FROM ${from} WHERE time = '${newest}'`, database, signal);
  return () => influxWrite(endpoint, database, lines);
}

/**
 * delete-row for every measurement of each database, in name order. A database with more than one
 * retention policy gets none: DELETE reaches every policy, and the undo writes into the default one.
 */
export const influxMutants: EngineMutants<InfluxStoreSpec> = {
  kinds: ['delete-row'],
  async state(store, _spec, context) {
    const mutants: StateMutant[] = [];
    for (const database of context.databases) {
      if ((await retentionPolicies(store.endpoint, database, context.signal)) !== 1) continue;
      const measurements = ((await influxQuery(store.endpoint, 'SHOW MEASUREMENTS', database, context.signal))[0]?.values ?? []).map((v) => String(v[0])).sort();
      for (const measurement of measurements) {
        mutants.push({
          id: `delete-row:${database}/${measurement}`,
          kind: 'delete-row',
          target: `${database}/${measurement}`,
          description: `deleting the points of ${database}.${measurement} at its newest time`,
          hint: `add a points check on ${database}.${measurement}`,
          apply: (signal) => deleteNewest(store.endpoint, database, measurement, signal),
        });
      }
    }
    return mutants;
  },
};
