import type { RuntimeName } from '../spec/types.ts';
import { containersRuntime } from './containers/index.ts';
import { kubernetesRuntime } from './kubernetes/index.ts';
import { localRuntime } from './local/index.ts';
import type { Runtime } from './types.ts';

/** Plain map; a new runtime is one entry. */
export const runtimes: Record<RuntimeName, Runtime> = {
  local: localRuntime,
  containers: containersRuntime,
  kubernetes: kubernetesRuntime,
};
