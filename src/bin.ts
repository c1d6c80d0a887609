#!/usr/bin/env node
// The installed package's `restoreproof` command (dist/bin.js); in the repository bin/restoreproof.js runs the sources.
import { main } from './cli.ts';
import { preferSmallHeap } from './util/heap.ts';

preferSmallHeap();
process.exitCode = await main(process.argv.slice(2));
