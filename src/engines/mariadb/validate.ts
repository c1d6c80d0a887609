// What the schema cannot say about the checks aimed at a mariadb store.
import type { StoreSpecOf } from '../../drill/types.ts';
import type { DrillIssue, EngineValidation } from '../types.ts';
import { quoteTableName } from './client.ts';
import { binlogIssues } from './binlog.ts';

export const validateMariadb: EngineValidation<StoreSpecOf<'mariadb'>> = {
  store(spec, drillDir) {
    return spec.restore.flatMap((step, i) => [
      ...(step.format === 'physical' && i > 0 ? [[['restore', i, 'format'], 'a physical backup becomes the server\'s data dir before it starts: only the first step can be physical'] as DrillIssue] : []),
      ...binlogIssues(step, drillDir).map(([path, message]): DrillIssue => [['restore', i, ...path], message]),
    ]);
  },
  check(check) {
    if (check.type === 'count' && !check.table) return [[[], 'a mariadb count check needs table']];
    if (check.type === 'query' && !check.sql) return [[[], 'a mariadb query check needs sql']];
    // count and the row-reading checks name a table the same way: a bad name is found before any restore.
    const table = 'table' in check ? check.table : undefined;
    if (typeof table === 'string') {
      try {
        quoteTableName(table);
      } catch (err) {
        return [[['table'], (err as Error).message]];
      }
    }
    return [];
  },
};
