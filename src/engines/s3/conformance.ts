import { join } from 'node:path';
import type { S3StoreSpec } from '../../drill/types.ts';
import type { EngineConformance } from '../conformance.ts';

/** conformance/bucket: a mirrored bucket of three objects. */
export const conformance: EngineConformance<S3StoreSpec> = {
  store: (fixtures) => ({ engine: 's3', restore: [{ bucket: 'conformance', artefact: join(fixtures, 'bucket') }] }),
  count: (expect) => ({ type: 'objects', bucket: 'conformance', expect: { count: expect } }),
  expected: 3,
  testbedBackend: 'minio',
  counted: (actual) => (actual as { count?: number } | null)?.count,
};
