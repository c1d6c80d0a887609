import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { s3Client } from './client.ts';
import type { S3StoreSpec, StoreSpec } from '../../drill/types.ts';
import { askVersion } from '../../util/tool-version.ts';
import { registerSecret } from '../../util/redact.ts';
import { resolveBinary } from '../../util/tools.ts';
import type { ProvisionRequest, StartedStore } from '../../runtimes/types.ts';
import type { LocalServerDeclaration } from '../../runtimes/servers.ts';
import { describeLocalBinary, freePort, LocalServer, LocalStore } from '../../runtimes/local/server.ts';

export function minioBinary(spec: S3StoreSpec): Promise<string> {
  return resolveBinary({ explicit: spec.server, envVar: 'RESTOREPROOF_MINIO', names: ['minio'] }, 'minio server', 'install MinIO (go install github.com/minio/minio@<release>) or set server in the store');
}

/** An ephemeral MinIO with generated root credentials, on loopback, storing into the run's temp dir. */
export async function startLocalMinio(request: ProvisionRequest): Promise<StartedStore> {
  const spec = request.spec as S3StoreSpec;
  const binary = await minioBinary(spec);
  const server = await LocalServer.forStore(request);
  try {
    const data = join(server.dir, 'data');
    await mkdir(data);
    await server.own(data);
    const user = `rp${randomBytes(6).toString('hex')}`;
    const password = randomBytes(24).toString('base64url');
    registerSecret(password);
    // Asked while the server starts: preflight may have asked already, and otherwise it takes as long as a start.
    const versionAnswer = askVersion(binary, ['--version']).catch(() => undefined);
    const [port, consolePort] = [await freePort(), await freePort()];
    // Credentials through the environment, never on the command line.
    server.start(binary, ['server', data, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
      env: { MINIO_ROOT_USER: user, MINIO_ROOT_PASSWORD: password, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off', MINIO_CI_CD: '1' },
    });
    const endpoint = { host: '127.0.0.1', port, user, password };
    await server.waitReady('minio', async () => {
      // Ready means it takes writes (health/ready), not only that it lists.
      const health = await fetch(`http://127.0.0.1:${port}/minio/health/ready`);
      if (!health.ok) throw new Error(`health/ready answered ${health.status}`);
      await (await s3Client(endpoint, { probe: true })).listBuckets();
    }, request.signal);
    const versionRun = await versionAnswer;
    const version = /version (\S+)/.exec(versionRun?.stdout ?? '')?.[1] ?? 'unknown';
    return new LocalStore({
      name: request.storeName,
      engine: 's3',
      server,
      endpoint,
      version,
      tool: (name) => name,
      toolEnv: {},
      url: () => `http://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
      connectionHelp: () => [
        `${request.storeName}: http://127.0.0.1:${port}  access key ${user} (secret generated, not printed; dir ${server.dir}, pid ${server.pid})`,
        `  stop it: kill ${server.pid} && rm -rf ${server.dir}`,
      ],
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** MinIO on the local runtime, storing into the run's temp dir. */
export const minioLocalServer: LocalServerDeclaration = {
  start: startLocalMinio,
  describe: (spec: StoreSpec) => describeLocalBinary(() => minioBinary(spec as S3StoreSpec), 'generated root credentials'),
  tools: async (spec: StoreSpec) => [{ name: 'minio', find: () => minioBinary(spec as S3StoreSpec) }],
};
