import { ArtefactError } from '../../errors.ts';
import { resolveSecret } from '../../drill/secrets.ts';
import type { S3StoreSpec, SecretRef } from '../../drill/types.ts';
import { sourceFailure } from '../../sources/reader.ts';
import type { RemoteSource } from '../types.ts';
import { clientForUrl, listAll } from './client.ts';

/** Steps that mirror another bucket (restore[].source): each is listed for doctor, nothing copied. */
export function mirroredBuckets(spec: S3StoreSpec, store: string, drillDir: string): RemoteSource[] {
  return spec.restore.flatMap((step) => {
    const source = step.source;
    if (!source) return [];
    const where = `s3://${source.bucket}/${step.prefix ?? ''} at ${source.endpoint}`;
    return [{
      name: `${store}: ${where}`,
      async check() {
        const secret = async (ref: SecretRef | undefined, fallback: string | undefined, what: string) => (ref ? resolveSecret(ref, drillDir, what) : (fallback ?? ''));
        const accessKey = await secret(source.accessKey, process.env.AWS_ACCESS_KEY_ID, `${store} source accessKey`);
        const secretKey = await secret(source.secretKey, process.env.AWS_SECRET_ACCESS_KEY, `${store} source secretKey`);
        try {
          for await (const first of listAll(clientForUrl(source.endpoint, accessKey, secretKey, source.region), source.bucket, step.prefix ?? '')) return `reachable; objects there (first: ${first.key})`;
        } catch (err) {
          throw sourceFailure(where, err, 'check the endpoint, the network path to it and source.accessKey/secretKey');
        }
        throw new ArtefactError(where, `no objects under s3://${source.bucket}/${step.prefix ?? ''}`, 'check the bucket, the prefix and the credentials');
      },
    }];
  });
}
