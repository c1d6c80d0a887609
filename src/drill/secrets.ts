import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RestoreproofError, errorMessage } from '../errors.ts';
import { registerSecret } from '../util/redact.ts';
import type { SecretRef } from './types.ts';

/** Reads a secret reference; the value is registered for redaction before anyone sees it. Unresolvable: E_SECRET, exit 3. */
export async function resolveSecret(ref: SecretRef, baseDir: string, what: string): Promise<string> {
  let value: string | undefined;
  if ('env' in ref) {
    value = process.env[ref.env];
    if (value === undefined) throw new RestoreproofError('E_SECRET', `${what}: environment variable ${ref.env} is not set`, { hint: `export ${ref.env}=... before running the drill` });
  } else if ('file' in ref) {
    const path = resolve(baseDir, ref.file);
    try {
      value = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new RestoreproofError('E_SECRET', `${what}: cannot read secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  } else {
    value = await readKubernetesSecret(ref.kubernetesSecret, what);
  }
  registerSecret(value);
  return value;
}

/** One key of a Kubernetes Secret, through the same kubeconfig (and --context) as the kubernetes runtime. */
async function readKubernetesSecret(ref: { name: string; key: string; namespace?: string }, what: string): Promise<string> {
  // Loaded only here: drills without such a reference never load the Kubernetes client.
  const { kube, statusOf, apiMessage } = await import('../runtimes/kubernetes/client.ts');
  const k = await kube();
  const namespace = ref.namespace ?? k.namespace;
  const where = `Secret ${namespace}/${ref.name}`;
  let data: Record<string, string> | undefined;
  try {
    data = (await k.core.readNamespacedSecret({ name: ref.name, namespace })).data;
  } catch (err) {
    const status = statusOf(err);
    if (status === 404) throw new RestoreproofError('E_SECRET', `${what}: ${where} does not exist (cluster ${k.server}, context ${k.context})`, { hint: 'check kubernetesSecret.name and .namespace, and --context' });
    if (status === 403) throw new RestoreproofError('E_SECRET', `${what}: Kubernetes refused reading ${where}: ${apiMessage(err)}`, { hint: `grant the identity of the kubeconfig "get" on secrets in ${namespace} (a Role with resourceNames: [${ref.name}] is enough)` });
    throw new RestoreproofError('E_SECRET', `${what}: reading ${where} from ${k.server} failed: ${status ? `${status} ${apiMessage(err)}` : errorMessage(err)}`);
  }
  const encoded = data?.[ref.key];
  if (encoded === undefined) {
    throw new RestoreproofError('E_SECRET', `${what}: ${where} has no key "${ref.key}" (its keys: ${Object.keys(data ?? {}).sort().join(', ') || 'none'})`);
  }
  return Buffer.from(encoded, 'base64').toString('utf8').replace(/\r?\n$/, ''); // as from a file: kubectl --from-file keeps the newline
}
