import type { CheckRunner } from '../../checks/types.ts';
import type { IntegrityCheck } from '../../drill/types.generated.ts';
import { systemDatabases } from './baseline.ts';
import { quoteIdent, withMariadb } from './client.ts';

/** What CHECK TABLE's last row says of a table that is whole. */
const whole = new Set(['ok', 'table is already up to date']);

/**
 * CHECK TABLE … EXTENDED on every base table of the check's database, or of every user database
 * when the check names none: InnoDB reads every index record and matches it to its row, Aria and
 * MyISAM verify each row's checksum against the index. A table fails when the server reports an
 * error for it, or a final status other than OK, in the server's own words.
 */
export const mariadbIntegrity: CheckRunner<IntegrityCheck> = async (check, context) => {
  const failures: string[] = [];
  let checked = 0;
  await withMariadb(context.store.endpoint, `store ${context.store.name}`, undefined, async (connection) => {
    let databases = check.database ? [check.database] : [];
    if (!databases.length) {
      const [rows] = await connection.query({ sql: 'SHOW DATABASES', rowsAsArray: true });
      databases = (rows as [string][]).map((r) => r[0]).filter((d) => !systemDatabases.has(d)).sort();
    }
    for (const database of databases) {
      const [tables] = await connection.query({ sql: "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", rowsAsArray: true }, [database]);
      for (const [table] of tables as [string][]) {
        context.signal.throwIfAborted();
        const [rows] = await connection.query({ sql: `CHECK TABLE ${quoteIdent(database)}.${quoteIdent(table)} EXTENDED`, rowsAsArray: true });
        checked++;
        // Table, Op, Msg_type, Msg_text: errors and warnings first, the status last.
        const messages = rows as [string, string, string, string][];
        const status = messages.findLast((m) => m[2] === 'status');
        const errors = messages.filter((m) => m[2] === 'error').map((m) => m[3]);
        if (errors.length || !whole.has(String(status?.[3]).toLowerCase())) {
          failures.push(`${database}.${table}: ${[...errors, ...(status ? [status[3]] : [])].join('; ')}`);
        }
      }
    }
  });
  const where = check.database ? `database ${check.database}` : 'every user database';
  if (failures.length) {
    return { passed: false, expected: 'CHECK TABLE … EXTENDED reports every table OK', actual: { checked, failed: failures.length }, message: `CHECK TABLE … EXTENDED failed for ${failures.length} of ${checked} tables of ${where}:\n${failures.join('\n')}` };
  }
  return { passed: true, expected: 'CHECK TABLE … EXTENDED reports every table OK', actual: { checked, failed: 0 }, message: `CHECK TABLE … EXTENDED: all ${checked} tables of ${where} OK` };
};
