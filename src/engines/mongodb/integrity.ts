// The integrity check of a MongoDB store: the server's `validate` on each collection.
// On FerretDB (the test bed's server) validate answers in MongoDB's shape from its own catalog
// (nrecords, nIndexes, valid) without inspecting storage, so there it proves every collection is
// readable and listed with its indexes, not that the storage is sound; see docs/drills.md.
import type { MongoClient } from 'mongodb';
import type { CheckRunner } from '../../checks/types.ts';
import type { StoreCheckSpec } from '../../drill/types.ts';
import { withMongo } from './client.ts';

type IntegrityCheckSpec = Extract<StoreCheckSpec, { type: 'integrity' }>;

const serverDatabases = new Set(['admin', 'local', 'config']);

interface Verdict {
  ns: string;
  valid: boolean;
  problems: string[];
}

async function validateCollection(client: MongoClient, database: string, collection: string): Promise<Verdict> {
  const ns = `${database}.${collection}`;
  try {
    const answer = await client.db(database).command({ validate: collection, full: true });
    const problems = [...((answer.errors as string[] | undefined) ?? []), ...((answer.corruptRecords as unknown[] | undefined)?.length ? [`${(answer.corruptRecords as unknown[]).length} corrupt record(s)`] : [])];
    const missing = (answer.missingIndexEntries as unknown[] | undefined)?.length ?? 0;
    const extra = (answer.extraIndexEntries as unknown[] | undefined)?.length ?? 0;
    if (missing) problems.push(`${missing} missing index entr${missing === 1 ? 'y' : 'ies'}`);
    if (extra) problems.push(`${extra} extra index entr${extra === 1 ? 'y' : 'ies'}`);
    const valid = answer.valid === true && problems.length === 0;
    if (!valid && problems.length === 0) problems.push('validate answered valid: false');
    return { ns, valid, problems };
  } catch (err) {
    // A server without validate (code 59) proves nothing: the check fails rather than pass unseen.
    return { ns, valid: false, problems: [`validate failed: ${(err as Error).message}`] };
  }
}

/** validate on each collection of the check's database, or of every database the server holds when the check names none. */
export const mongoIntegrity: CheckRunner<IntegrityCheckSpec> = async (check, context) => {
  const verdicts = await withMongo(context.store, async (client) => {
    const databases = check.database
      ? [check.database]
      : (await client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name).filter((n) => !serverDatabases.has(n)).sort();
    const found: Verdict[] = [];
    for (const database of databases) {
      const names = (await client.db(database).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => !n.startsWith('system.')).sort();
      for (const collection of names) {
        context.signal.throwIfAborted();
        found.push(await validateCollection(client, database, collection));
      }
    }
    return found;
  }, context.signal);
  const invalid = verdicts.filter((v) => !v.valid);
  const where = check.database ?? 'every database';
  return {
    passed: verdicts.length > 0 && invalid.length === 0,
    expected: 'validate finds every collection valid',
    actual: { collections: verdicts.length, invalid: invalid.length },
    message: verdicts.length === 0
      ? `no collection to validate in ${where}`
      : invalid.length === 0
        ? `validate found all ${verdicts.length} collection(s) of ${where} valid`
        : `validate found ${invalid.length} of ${verdicts.length} collection(s) invalid: ${invalid.slice(0, 5).map((v) => `${v.ns} (${v.problems.join('; ')})`).join(', ')}`,
    details: invalid.length ? { invalid } : undefined,
  };
};
