import type { RuntimeDeclaration } from '../lazy.ts';
import { enginesWith } from '../hosted.ts';

/** What the kubernetes runtime can do, known without loading it and the Kubernetes client. */
export const declared: RuntimeDeclaration = { name: 'kubernetes', engines: enginesWith('container'), app: true, fetchesInPod: true };
