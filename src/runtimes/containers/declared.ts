import type { RuntimeDeclaration } from '../lazy.ts';
import { containerEngines } from '../shared/engines.ts';

/** What the containers runtime can do, known without loading it and the Docker client. */
export const declared: RuntimeDeclaration = { name: 'containers', engines: containerEngines, app: true };
