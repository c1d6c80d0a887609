// What the schema cannot say about an influxdb store.
import type { InfluxStoreSpec } from '../../drill/types.ts';
import type { DrillIssue, EngineValidation } from '../types.ts';

export const validateInflux: EngineValidation<InfluxStoreSpec> = {
  store(spec) {
    const issues: DrillIssue[] = [];
    spec.restore.forEach((step, i) => {
      if (step.newDatabase && !step.database) issues.push([['restore', i, 'newDatabase'], 'newDatabase renames database; name the database to restore']);
    });
    return issues;
  },
};
