#!/usr/bin/env node
// The compiled CLI lives in dist/; `npm install` builds it.
import { limitMallocArenas, PROCBEAT_MALLOC_ARENAS } from '../dist/core/memory/glibc.js';

// Before the CLI's modules load, while Node's threads have allocated little: each thread
// that allocates later shares one of these arenas instead of keeping one of its own
// (docs/memory.md).
limitMallocArenas(PROCBEAT_MALLOC_ARENAS);
const { main } = await import('../dist/core/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
