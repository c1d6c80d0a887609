import { randomBytes } from 'node:crypto';
import { generatedSecret, type ContainerServerDeclaration } from '../../runtimes/servers.ts';
import { s3Client } from './client.ts';

/** MinIO in its official image, with generated root credentials. */
export const minioContainerServer: ContainerServerDeclaration = {
  image: { latest: 'minio/minio', versioned: 'minio/minio:{version}' },
  recipe(request) {
    const user = `rp${randomBytes(6).toString('hex')}`;
    const password = generatedSecret();
    return {
      port: 9000, user, password,
      env: { MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: password, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
      command: ['server', '/data', '--address', ':9000', '--console-address', ':9001', '--quiet'],
      tools: [], toolEnv: {},
      async probe(endpoint) {
        await (await s3Client(endpoint, { probe: true })).listBuckets();
        return 'minio';
      },
      // The S3 API does not say which MinIO answers; its binary does.
      async versionFromTools(store) {
        const run = await store.exec('minio', ['--version']).catch(() => undefined);
        return /version (\S+)/.exec(run?.stdout ?? '')?.[1] ?? 'unknown';
      },
      url: (e) => `http://${user}:${encodeURIComponent(password)}@${e.host}:${e.port}`,
      toolUrl: () => 'http://127.0.0.1:9000',
      help: (e, id) => [`${request.storeName}: http://${e.host}:${e.port}  access key ${user} (secret generated, not printed; docker exec ${id.slice(0, 12)} printenv MINIO_ROOT_PASSWORD)`],
    };
  },
};
