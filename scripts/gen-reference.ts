// `npm run gen:reference`: writes docs/reference.md from schemas/drill.schema.json.
import { readFile, writeFile } from 'node:fs/promises';
import { renderReference, referencePaths } from './lib/reference.ts';

const schema = JSON.parse(await readFile(referencePaths.schema, 'utf8'));
await writeFile(referencePaths.reference, renderReference(schema));
console.log(`wrote ${referencePaths.reference}`);
