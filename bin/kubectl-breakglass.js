#!/usr/bin/env node
// kubectl plugin: `kubectl breakglass request -n prod deployment/api …` is `driftgate grant request …`.
process.argv.splice(2, 0, 'grant');
await import('./driftgate.js');
