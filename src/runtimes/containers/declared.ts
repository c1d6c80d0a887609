import type { RuntimeDeclaration } from '../lazy.ts';
import { enginesWith } from '../hosted.ts';

/** What the containers runtime can do, known without loading it and the Docker client: it hosts every engine that declares a container server. */
export const declared: RuntimeDeclaration = { name: 'containers', engines: enginesWith('container'), app: true };
