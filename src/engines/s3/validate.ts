// What the schema cannot say about an s3 store.
import type { S3StoreSpec } from '../../drill/types.ts';
import type { DrillIssue, EngineValidation } from '../types.ts';

export const validateS3: EngineValidation<S3StoreSpec> = {
  store(spec) {
    const issues: DrillIssue[] = [];
    const buckets = spec.restore.map((s) => s.bucket);
    buckets.forEach((b, i) => buckets.indexOf(b) !== i && issues.push([['restore', i, 'bucket'], `bucket ${b} is restored twice`]));
    return issues;
  },
};
