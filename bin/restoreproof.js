#!/usr/bin/env node
// Runs the TypeScript sources directly: Node >= 22.18 strips types natively.
import { main } from '../src/cli.ts';
import { preferSmallHeap } from '../src/util/heap.ts';

preferSmallHeap();
process.exitCode = await main(process.argv.slice(2));
