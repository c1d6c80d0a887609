import type { RuntimeDeclaration } from '../lazy.ts';
import { containerEngines } from '../shared/engines.ts';

/** What the kubernetes runtime can do, known without loading it and the Kubernetes client. */
export const declared: RuntimeDeclaration = { name: 'kubernetes', engines: containerEngines, app: true, fetchesInPod: true };
