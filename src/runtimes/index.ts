// The runtimes are generated from the folders (scripts/generate-registry.ts): a new runtime is a folder and `npm run generate`.
export { runtimes, runtimeNames, type RuntimeName } from './registry.generated.ts';
