import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { ToolNotFoundError } from '../../errors.ts';
import { freePort, LocalServer } from '../../runtimes/local/server.ts';
import { isExecutable, resolveBinary } from '../../util/tools.ts';

/** Where the harness reaches a kube-apiserver it started: the URL, the CA of its serving certificate and a bearer token. */
export interface ApiServerAccess {
  url: string;
  /** PEM: the self-signed serving certificate and the CA that signed it (what the API server wrote into its cert dir). */
  ca: string;
  token: string;
  version: string;
}

export interface StartedApiServer extends ApiServerAccess {
  server: LocalServer;
}

/** The kube-apiserver binary: the check's (only that one, when it names one), else $RESTOREPROOF_KUBE_APISERVER, then kube-apiserver on PATH. */
export async function kubeApiServerBinary(explicit?: string): Promise<string> {
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new ToolNotFoundError('kube-apiserver', [explicit], 'the check\'s apiServer names no executable file; fix the path, or leave it out to use $RESTOREPROOF_KUBE_APISERVER or PATH');
  }
  return resolveBinary({ envVar: 'RESTOREPROOF_KUBE_APISERVER', names: ['kube-apiserver'] }, 'kube-apiserver', "build it (scripts/testbed up kube-apiserver builds the test bed's), put it on PATH or name it in the check (apiServer)");
}

/**
 * Starts kube-apiserver on an etcd client URL, in a run-owned temp dir named after the run
 * (restoreproof-<run id>-<name>-…, so gc and the reaper find it): a fresh service-account key
 * (node:crypto), a serving certificate the API server makes itself in that dir, a random bearer
 * token for one system:masters user and anonymous requests refused. It writes its bootstrap
 * objects (default namespaces, RBAC roles, priority classes) into the store, as it would on a cluster.
 */
export async function startApiServer(options: { runId: string; name: string; etcd: string; binary: string; signal: AbortSignal }): Promise<StartedApiServer> {
  const server = await LocalServer.forStore({ runId: options.runId, storeName: options.name });
  try {
    const port = await freePort();
    const token = randomBytes(24).toString('base64url');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const certDir = join(server.dir, 'certs');
    const files = { saKey: join(server.dir, 'sa.key'), saPub: join(server.dir, 'sa.pub'), tokens: join(server.dir, 'tokens.csv') };
    await writeFile(files.saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await writeFile(files.saPub, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o600 });
    await writeFile(files.tokens, `${token},restoreproof,restoreproof,"system:masters"\n`, { mode: 0o600 });
    await server.own(server.dir);
    server.start(options.binary, [
      '--etcd-servers', options.etcd,
      '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(port), '--cert-dir', certDir,
      '--service-cluster-ip-range', '10.214.0.0/16', '--authorization-mode', 'RBAC', '--anonymous-auth=false', '--token-auth-file', files.tokens,
      '--service-account-key-file', files.saPub, '--service-account-signing-key-file', files.saKey,
      '--service-account-issuer', 'https://kubernetes.default.svc.cluster.local', '--endpoint-reconciler-type', 'none', '--profiling=false',
    ], { env: { KUBE_FEATURE_WatchListClient: 'false' } });
    const url = `https://127.0.0.1:${port}`;
    let ca = '';
    const version = await server.waitReady('kube-apiserver', async () => {
      ca ||= await readFile(join(certDir, `127.0.0.1_${port}.crt`), 'utf8').catch(() => readFile(join(certDir, 'apiserver.crt'), 'utf8'));
      return readyVersion({ url, ca, token });
    }, options.signal, 120_000);
    return { url, ca, token, version, server };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** /readyz answers ok (etcd reached, bootstrap done), then /version's gitVersion. */
async function readyVersion(access: Omit<ApiServerAccess, 'version'>): Promise<string> {
  const ready = await apiGet(access, '/readyz');
  if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status}: ${ready.body.slice(0, 200)}`);
  return (JSON.parse((await apiGet(access, '/version')).body) as { gitVersion?: string }).gitVersion ?? '';
}

/** One GET on the API server with its CA and token (node:https: no client library for a few reads). */
export function apiGet(access: Omit<ApiServerAccess, 'version'>, path: string, options: { accept?: string; signal?: AbortSignal } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${access.token}`, accept: options.accept ?? 'application/json' };
    const req = request(`${access.url}${path}`, { ca: access.ca, headers, timeout: 30_000, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`${path} timed out`)));
    req.once('error', reject).end();
  });
}

/** A client of the Kubernetes API (client-node, loaded on first use) for an API server started here. */
export async function apiClient(access: ApiServerAccess) {
  const k8s = await import('@kubernetes/client-node');
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'restored', server: access.url, caData: Buffer.from(access.ca).toString('base64') }],
    users: [{ name: 'restoreproof', token: access.token }],
    contexts: [{ name: 'restored', cluster: 'restored', user: 'restoreproof' }],
    currentContext: 'restored',
  });
  return { config, core: config.makeApiClient(k8s.CoreV1Api), apps: config.makeApiClient(k8s.AppsV1Api), objects: k8s.KubernetesObjectApi.makeApiClient(config) };
}
