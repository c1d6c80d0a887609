import type { EngineName } from '../drill/types.ts';
import type { Runtime } from './types.ts';

/** What a lazily loaded runtime can do, in its folder's declared.ts. */
export interface RuntimeDeclaration {
  name: string;
  engines: readonly EngineName[];
  app: boolean;
  fetchesInPod?: boolean;
}

/**
 * A runtime whose implementation is imported on first use. The Docker and Kubernetes clients are
 * heavy (about 100 MiB and a second of start-up between them); a drill on `local` never loads
 * them. What a runtime can do is declared here, as flags, not discovered by loading it.
 */
export function lazyRuntime(declared: RuntimeDeclaration, load: () => Promise<Runtime>): Runtime {
  let loaded: Promise<Runtime> | undefined;
  const impl = () => (loaded ??= load());
  const runtime: Runtime = {
    name: declared.name,
    engines: declared.engines,
    describeProvision: async (request) => (await impl()).describeProvision(request),
    provision: async (request) => (await impl()).provision(request),
    ...(declared.fetchesInPod ? { fetchesInPod: true } : {}),
  };
  if (declared.app) {
    runtime.startApp = async (request) => (await impl()).startApp!(request);
    runtime.runAppTask = async (request) => (await impl()).runAppTask!(request);
  }
  return runtime;
}
