/**
 * node:http and node:https as their CommonJS exports. `import { request } from 'node:http'` makes Node
 * build an ES module facade that reads every export once, and node:http's lazy `WebSocket`,
 * `MessageEvent` and `CloseEvent` getters then load undici (Node's fetch) with assert, http2 and
 * worker_threads: ~1.5 MiB of heap and ~2.5 MiB of RSS in a server that never uses them
 * (docs/benchmarks.md, serving-process memory). Type-only imports from 'node:http' cost nothing.
 */
export const http = process.getBuiltinModule('node:http');
export const https = process.getBuiltinModule('node:https');
