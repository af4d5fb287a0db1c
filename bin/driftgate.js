#!/usr/bin/env node
// Launcher: runs the TypeScript sources in a checkout (Node >= 22.19 strips types), the compiled
// dist/ where only that is shipped (the container image). A checkout never runs a stale build.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `driftgate: needs Node.js >= 22.19 (this is ${process.version}); run it through npm (npm run -s driftgate -- ...), which uses the project's Node 24\n`,
  );
  process.exit(2);
}
const source = new URL('../src/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/main.js', import.meta.url).href);
