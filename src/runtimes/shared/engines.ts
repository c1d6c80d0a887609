import type { EngineName } from '../../drill/types.ts';

/** The engines the containers and kubernetes runtimes host. */
export const containerEngines: readonly EngineName[] = ['postgres', 'mongodb', 's3', 'redis'];
