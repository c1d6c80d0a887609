import { evaluate } from '../../checks/expectations.ts';
import type { CheckRunner } from '../../checks/types.ts';
import type { KubeApiCheck } from '../../drill/types.generated.ts';
import { RestoreproofError } from '../../errors.ts';
import type { LocalTool } from '../../runtimes/servers.ts';
import { apiGet, kubeApiServerBinary, startApiServer, type ApiServerAccess } from './apiserver.ts';

/** The API server's binary, found at preflight (a missing one stops the run before anything starts: exit 3). */
export function kubeApiTools(check: { type: string; apiServer?: string }): LocalTool[] {
  if (check.type !== 'kubeApi') return [];
  return [{ name: check.apiServer ? `kube-apiserver ${check.apiServer}` : 'kube-apiserver', find: () => kubeApiServerBinary(check.apiServer), versionArgs: ['--version'] }];
}

interface ApiResourceList {
  groupVersion?: string;
  resources?: { name: string; namespaced: boolean }[];
}

type Access = Omit<ApiServerAccess, 'version'>;

async function getJson<T>(access: Access, path: string, signal: AbortSignal, accept?: string): Promise<T | undefined> {
  const answer = await apiGet(access, path, { signal, ...(accept ? { accept } : {}) });
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw new RestoreproofError('E_CHECK', `kube-apiserver: GET ${path} answered ${answer.status}: ${answer.body.slice(0, 200)}`);
  return JSON.parse(answer.body) as T;
}

/**
 * The list path of a resource, found by discovery as kubectl does: `deployments` (core first, then
 * every group's preferred version) or `deployments.apps` (that group).
 */
async function listPath(access: Access, resource: string, namespace: string | undefined, signal: AbortSignal): Promise<string> {
  const [plural, ...group] = resource.split('.');
  const versions: string[] = [];
  if (group.length) {
    const found = await getJson<{ preferredVersion?: { groupVersion: string } }>(access, `/apis/${group.join('.')}`, signal);
    if (found?.preferredVersion) versions.push(found.preferredVersion.groupVersion);
  } else {
    versions.push('v1');
    const groups = await getJson<{ groups?: { preferredVersion: { groupVersion: string } }[] }>(access, '/apis', signal);
    versions.push(...(groups?.groups ?? []).map((g) => g.preferredVersion.groupVersion));
  }
  for (const version of versions) {
    const base = version === 'v1' ? '/api/v1' : `/apis/${version}`;
    const list = await getJson<ApiResourceList>(access, base, signal);
    const found = list?.resources?.find((r) => r.name === plural);
    if (!found) continue;
    if (namespace && !found.namespaced) throw new RestoreproofError('E_CHECK', `${resource} is cluster-scoped (${version}): drop namespace from the check`);
    return `${base}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${plural}`;
  }
  throw new RestoreproofError('E_CHECK', `the restored API server serves no resource ${resource} (kubectl api-resources lists what it serves)`);
}

/** Every object's name, page by page, as metadata only: a Secret's data never reaches the harness. */
async function listNames(access: Access, path: string, signal: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  let token = '';
  do {
    const page = await getJson<{ items?: { metadata?: { name?: string } }[]; metadata?: { continue?: string } }>(
      access, `${path}?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`, signal, 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    );
    names.push(...(page?.items ?? []).map((i) => i.metadata?.name ?? ''));
    token = page?.metadata?.continue ?? '';
  } while (token);
  return names;
}

/**
 * Starts the API server on the restored store (a process of the harness, in a temp dir named after
 * the run, removed when the check ends however it ends) and lists a resource through it, as
 * `kubectl get <resource> -n <namespace>` would: the cluster's objects are not only in etcd but
 * served again. The API server writes its bootstrap objects into the restored store first.
 */
export const kubeApi: CheckRunner<KubeApiCheck> = async (check, context) => {
  const binary = await kubeApiServerBinary(check.apiServer);
  const { host, port } = context.store.endpoint;
  const api = await startApiServer({ runId: context.runId, name: `${context.store.name}-kube-apiserver`, etcd: `http://${host}:${port}`, binary, signal: context.signal });
  let names: string[];
  try {
    names = await listNames(api, await listPath(api, check.resource, check.namespace, context.signal), context.signal);
  } finally {
    await api.server.stop();
  }
  const e = evaluate(check.expect, names.length);
  const missing = (check.names ?? []).filter((n) => !names.includes(n));
  const what = `${check.resource}${check.namespace ? ` in namespace ${check.namespace}` : ''}`;
  const problems = [...(e.passed ? [] : [`expected ${e.expected}`]), ...(missing.length ? [`missing ${missing.join(', ')}`] : [])];
  return {
    passed: problems.length === 0,
    expected: `${e.expected}${check.names ? `, including ${check.names.join(', ')}` : ''}`,
    actual: names.length,
    message: `${names.length} ${what} served by kube-apiserver ${api.version} on the restored store${problems.length ? `; ${problems.join('; ')}` : ''}`,
    details: { apiServer: { binary, version: api.version, resources: api.server.resources }, names: names.slice(0, 100), ...(missing.length ? { missing } : {}) },
  };
};
