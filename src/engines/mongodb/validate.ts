// What the schema cannot say about a mongodb store and the checks aimed at it.
import type { MongoStoreSpec } from '../../drill/types.ts';
import type { DrillIssue, EngineValidation } from '../types.ts';

export const validateMongo: EngineValidation<MongoStoreSpec> = {
  store(spec) {
    const issues: DrillIssue[] = [];
    spec.restore.forEach((step, i) => {
      if ((step.nsFrom?.length ?? 0) !== (step.nsTo?.length ?? 0)) issues.push([['restore', i, 'nsFrom'], 'nsFrom and nsTo must have the same number of entries']);
    });
    return issues;
  },
  check(check) {
    if (check.type === 'count' && !check.collection) return [[[], 'a mongodb count check needs collection']];
    if (check.type === 'query' && !(check.collection && (check.find || check.aggregate))) return [[[], 'a mongodb query check needs collection and find or aggregate']];
    return [];
  },
};
