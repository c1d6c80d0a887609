import type { AppsV1Api, CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import { RestoreproofError, errorMessage } from '../../errors.ts';

type ClientNode = typeof import('@kubernetes/client-node');

let loaded: Promise<ClientNode> | undefined;
/** Loaded on first use: the other runtimes never pay for it. */
export function clientNode(): Promise<ClientNode> {
  loaded ??= import('@kubernetes/client-node');
  return loaded;
}

export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  networking: NetworkingV1Api;
  /** The context in use, or `in-cluster`. */
  context: string;
  /** The context's namespace (in a pod: its own), else `default`. */
  namespace: string;
  /** The API server URL, for messages. */
  server: string;
}

let cached: Promise<Kube> | undefined;

/**
 * Kubeconfig (KUBECONFIG or ~/.kube/config) with the context from `--context`
 * (RESTOREPROOF_KUBE_CONTEXT), else its current context; inside a pod without a kubeconfig,
 * the pod's service account (in-cluster).
 */
export function kube(): Promise<Kube> {
  cached ??= (async () => {
    const k8s = await clientNode();
    const config = new k8s.KubeConfig();
    try {
      config.loadFromDefault();
    } catch (err) {
      throw new RestoreproofError('E_KUBECONFIG', `cannot read the kubeconfig (KUBECONFIG=${process.env.KUBECONFIG ?? '~/.kube/config'}): ${errorMessage(err)}`);
    }
    const wanted = process.env.RESTOREPROOF_KUBE_CONTEXT;
    if (wanted) {
      if (!config.getContextObject(wanted)) {
        throw new RestoreproofError('E_KUBECONFIG', `kubeconfig has no context "${wanted}" (it has: ${config.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      }
      config.setCurrentContext(wanted);
    }
    const cluster = config.getCurrentCluster();
    if (!cluster) {
      throw new RestoreproofError('E_KUBECONFIG', 'no Kubernetes cluster configured: set KUBECONFIG (and --context), or run inside a pod with a service account');
    }
    return {
      config,
      core: config.makeApiClient(k8s.CoreV1Api),
      apps: config.makeApiClient(k8s.AppsV1Api),
      networking: config.makeApiClient(k8s.NetworkingV1Api),
      context: config.getCurrentContext() || 'in-cluster',
      namespace: config.getContextObject(config.getCurrentContext())?.namespace || 'default',
      server: cluster.server,
    };
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

/** HTTP status of an error from the generated client (ApiException.code), if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own message (the Status body), else the error's. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // not JSON
    }
  } else if (body && typeof body === 'object' && 'message' in body) {
    return String((body as { message: unknown }).message);
  }
  return errorMessage(err).split('\n')[0]!;
}

/** Wraps an API error so the report says what was refused and why (RBAC, quota, an unreachable server). */
export function kubeError(err: unknown, doing: string, server = ''): Error {
  if (err instanceof RestoreproofError) return err;
  const status = statusOf(err);
  if (status === 403) {
    return new RestoreproofError('E_KUBE_FORBIDDEN', `Kubernetes refused ${doing}: ${apiMessage(err)}`, {
      hint: 'the identity in the kubeconfig lacks a permission the kubernetes runtime needs; grant it deploy/rbac.yaml (namespaces, and pods, services, secrets, networkpolicies, pods/exec, pods/portforward in them)',
    });
  }
  if (status === 401) {
    return new RestoreproofError('E_KUBE_AUTH', `Kubernetes API ${server}: not authenticated while ${doing}: ${apiMessage(err)}`, { hint: 'check the credentials of the kubeconfig context (--context)' });
  }
  const message = status ? `${status} ${apiMessage(err)}` : errorMessage(err);
  if (!status && /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up|certificate/i.test(message)) {
    return new RestoreproofError('E_KUBE_UNREACHABLE', `the Kubernetes API ${server} does not answer while ${doing}: ${message}`, { hint: 'check KUBECONFIG and --context' });
  }
  return new RestoreproofError('E_KUBE', `Kubernetes API ${server}: ${doing}: ${message}`);
}

/** DNS-1123 label: lower case alphanumerics and '-', at most `max` characters, alphanumeric at both ends. */
export function dnsLabel(text: string, max = 63): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').slice(0, max).replace(/^-+|-+$/g, '') || 'x';
}

/** A valid label value (alphanumerics, '-', '_', '.'; at most 63; alphanumeric at both ends). */
export function labelValue(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
