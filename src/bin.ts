#!/usr/bin/env node
// The installed package's `restoreproof` command (dist/bin.js); in the repository bin/restoreproof.js runs the sources.
import { useCompileCache } from './util/compile-cache.ts';

// As bin/restoreproof.js: the compile cache first, then the imports it speeds up.
useCompileCache();
const { preferSmallHeap } = await import('./util/heap.ts');
const { main } = await import('./cli.ts');

preferSmallHeap();
process.exitCode = await main(process.argv.slice(2));
