import type { RuntimeName } from '../drill/types.ts';
import { lazyRuntime } from './lazy.ts';
import { localRuntime } from './local/index.ts';
import type { Runtime } from './types.ts';

const storeEngines = ['postgres', 'mongodb', 's3', 'redis'] as const;

/** Plain map; a new runtime is one entry. */
export const runtimes: Record<RuntimeName, Runtime> = {
  local: localRuntime,
  containers: lazyRuntime({ name: 'containers', engines: storeEngines, app: true }, async () => (await import('./containers/index.ts')).containersRuntime),
  kubernetes: lazyRuntime({ name: 'kubernetes', engines: storeEngines, app: true, fetchesInPod: true }, async () => (await import('./kubernetes/index.ts')).kubernetesRuntime),
};
