import { RestoreproofError } from '../errors.ts';
import type { StartedStore, StoreAddress } from '../runtimes/types.ts';
export type { StoreAddress };
import { resolveSecret } from '../drill/secrets.ts';
import type { AppEnvValue } from '../drill/types.ts';
import { registerSecret } from '../util/redact.ts';

/**
 * Run-time placeholders in `spec.app` env values. The loader has already replaced `${VAR}` from the
 * environment; what is left are names with a dot, resolved once the stores are running:
 *
 *   ${stores.<store>.url}             connection URL with credentials (the engine's default database)
 *   ${stores.<store>.url:<database>}  the same for another database
 *   ${stores.<store>.host} .port .user .password
 *   ${app.port}                       the port the app must listen on
 */
export const storeFields = ['url', 'host', 'port', 'user', 'password'] as const;
export type StoreField = (typeof storeFields)[number];

export type TemplatePart = string | { store: string; field: StoreField; database?: string } | { app: 'port' };

const placeholder = /\$\{([^}]*)\}/g;

/** Splits a value into text and placeholders; throws an Error naming the first bad placeholder. */
export function parseAppTemplate(text: string, storeNames: readonly string[]): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(placeholder)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const inner = m[1]!;
    if (inner === 'app.port') {
      parts.push({ app: 'port' });
      continue;
    }
    const s = /^stores\.([^.:]+)\.([A-Za-z]+)(?::(.+))?$/.exec(inner);
    if (!s) throw new Error(`unknown placeholder \${${inner}}; use \${stores.<store>.<${storeFields.join('|')}>}, \${stores.<store>.url:<database>} or \${app.port}`);
    const [, store, field, database] = s;
    if (!storeNames.includes(store!)) throw new Error(`\${${inner}} names unknown store "${store}"; stores: ${storeNames.join(', ')}`);
    if (!(storeFields as readonly string[]).includes(field!)) throw new Error(`\${${inner}}: unknown field "${field}"; fields: ${storeFields.join(', ')}`);
    if (database !== undefined && field !== 'url') throw new Error(`\${${inner}}: only url takes a :database`);
    parts.push({ store: store!, field: field as StoreField, ...(database !== undefined ? { database } : {}) });
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export interface AppEnvContext {
  stores: ReadonlyMap<string, StartedStore>;
  appPort: number;
  drillDir: string;
  /** Default: the address the harness itself uses (store.endpoint). */
  address?: StoreAddress;
}

function storeValue(store: StartedStore, field: StoreField, database: string | undefined, address: StoreAddress): string {
  const { host, port } = address(store);
  switch (field) {
    case 'host':
      return host;
    case 'port':
      return String(port);
    case 'user':
      return store.endpoint.user;
    case 'password':
      registerSecret(store.endpoint.password);
      return store.endpoint.password;
    case 'url': {
      const url = new URL(store.url(database));
      url.hostname = host;
      url.port = String(port);
      const text = url.toString();
      return text;
    }
  }
}

/** Resolves every env value: placeholders from the running stores, `{env}`/`{file}` from secrets. All are registered for redaction where secret. */
export async function resolveAppEnv(env: Record<string, AppEnvValue> | undefined, context: AppEnvContext): Promise<Record<string, string>> {
  const address = context.address ?? ((s: StartedStore) => ({ host: s.endpoint.host, port: s.endpoint.port }));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env ?? {})) {
    if (typeof value !== 'string') {
      out[name] = await resolveSecret(value, context.drillDir, `app env ${name}`);
      continue;
    }
    let parts: TemplatePart[];
    try {
      parts = parseAppTemplate(value, [...context.stores.keys()]);
    } catch (err) {
      throw new RestoreproofError('E_APP_CONFIG', `app env ${name}: ${(err as Error).message}`);
    }
    out[name] = parts
      .map((p) => (typeof p === 'string' ? p : 'app' in p ? String(context.appPort) : storeValue(context.stores.get(p.store)!, p.field, p.database, address)))
      .join('');
  }
  return out;
}
