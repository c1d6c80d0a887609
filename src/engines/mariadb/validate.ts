// What the schema cannot say about the checks aimed at a mariadb store.
import type { StoreSpecOf } from '../../drill/types.ts';
import type { EngineValidation } from '../types.ts';
import { quoteTableName } from './client.ts';

export const validateMariadb: EngineValidation<StoreSpecOf<'mariadb'>> = {
  check(check) {
    if (check.type === 'count') {
      if (!check.table) return [[[], 'a mariadb count check needs table']];
      try {
        quoteTableName(check.table);
      } catch (err) {
        return [[['table'], (err as Error).message]];
      }
    }
    if (check.type === 'query' && !check.sql) return [[[], 'a mariadb query check needs sql']];
    return [];
  },
};
