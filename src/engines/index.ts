import type { StoreSpec } from '../drill/types.ts';
import { engines } from './registry.generated.ts';
import type { Engine } from './types.ts';

// The engines are generated from the folders (scripts/generate-registry.ts): a new engine is a folder and `npm run generate`.
export { engines, engineNames, engineAliases, type EngineName } from './registry.generated.ts';

/** The engine of a store; its methods take that store's spec. */
export function engineFor(spec: StoreSpec): Engine {
  return engines[spec.engine];
}
