#!/usr/bin/env node
// Runs the TypeScript sources directly: Node >= 22.18 strips types natively.
import { useCompileCache } from '../src/util/compile-cache.ts';

// The imports below are dynamic so that they come after the compile cache is on.
useCompileCache();
const { preferSmallHeap } = await import('../src/util/heap.ts');
const { main } = await import('../src/cli.ts');

preferSmallHeap();
process.exitCode = await main(process.argv.slice(2));
