#!/usr/bin/env node
// Launcher: runs the built CLI (dist/) when present, else the TypeScript sources (Node >= 22.19 strips types).
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `driftgate: needs Node.js >= 22.19 (this is ${process.version}); run it through npm (npm run -s driftgate -- ...), which uses the project's Node 24\n`,
  );
  process.exit(2);
}
const built = new URL('../dist/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/main.ts', import.meta.url).href);
