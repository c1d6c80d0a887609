import { newMongoClient } from './client.ts';
import type { BaselineFile } from '../../drill/baseline.ts';
import { AuthenticationError, RestoreproofError } from '../../errors.ts';
import { redact } from '../../util/redact.ts';
import { toolVersion } from '../../version.ts';
import { contentDigest } from './content.ts';

/**
 * Document counts (and with content, digests) per collection of a live MongoDB source. MongoDB has no cross-collection
 * snapshot for reads outside a replica-set transaction, so counts are taken collection by
 * collection; `consistency` says so.
 */
export async function captureMongoBaseline(options: { connectionString: string; databases?: string[]; content?: boolean }): Promise<BaselineFile> {
  const url = new URL(options.connectionString);
  const client = await newMongoClient(options.connectionString, { serverSelectionTimeoutMS: 10_000, readPreference: 'secondaryPreferred' });
  try {
    await client.connect();
  } catch (err) {
    const message = redact((err as Error).message);
    if (/auth/i.test(message)) throw new AuthenticationError(`source ${url.host}`, message);
    throw new RestoreproofError('E_CONNECT', `source ${url.host}: cannot connect (${message})`);
  }
  try {
    const admin = client.db('admin');
    const info = await admin.command({ buildInfo: 1 });
    const fromUrl = decodeURIComponent(url.pathname.replace(/^\//, ''));
    const databases = options.databases?.length ? options.databases : fromUrl ? [fromUrl] : (await admin.admin().listDatabases()).databases.map((d) => d.name).filter((n) => !['admin', 'local', 'config'].includes(n));
    const result: BaselineFile = {
      kind: 'restoreproof/baseline',
      version: 1,
      engine: 'mongodb',
      capturedAt: new Date().toISOString(),
      tool: { name: 'restoreproof', version: toolVersion },
      source: { host: url.hostname, port: Number(url.port || 27017), user: decodeURIComponent(url.username), serverVersion: String(info.version) },
      consistency: `countDocuments${options.content ? ' then the content digest' : ''} per collection, one after another (no cross-collection snapshot)`,
      databases: {},
    };
    for (const name of databases) {
      const db = client.db(name);
      const tables: Record<string, number> = {};
      for (const c of (await db.listCollections({ type: 'collection' }, { nameOnly: true }).toArray()).map((x) => x.name).sort()) {
        if (!c.startsWith('system.')) tables[c] = await db.collection(c).countDocuments({});
      }
      const digests: Record<string, string> = {};
      if (options.content) for (const c of Object.keys(tables)) digests[c] = await contentDigest(db, c);
      result.databases[name] = { tables, schema: { sha256: '', objects: [] }, ...(options.content ? { digests } : {}) };
    }
    return result;
  } finally {
    await client.close().catch(() => {});
  }
}
