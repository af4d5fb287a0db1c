import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { http, https } from '../../src/util/builtin.ts';

/** The internal modules Node has loaded in a fresh process after importing `modules` (ESM). */
function loadedAfterImporting(modules: readonly string[]): string[] {
  const urls = modules.map((m) => new URL(m, import.meta.url).href);
  const script = `for (const u of ${JSON.stringify(urls)}) await import(u); process.stdout.write(JSON.stringify(process.moduleLoadList));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

test('the server, the CLI and the scan load no WebSocket/fetch implementation (undici) they never use', () => {
  const loaded = loadedAfterImporting(['../../src/server.ts', '../../src/cli/program.ts', '../../src/scan/live-source.ts', '../../src/cli/client.ts']);
  assert.ok(loaded.includes('NativeModule https'), 'node:https itself is loaded');
  assert.deepEqual(
    loaded.filter((m) => /undici|http2/.test(m)),
    [],
  );
});

test('an ES module import of node:http loads undici (what builtin.ts avoids)', () => {
  assert.ok(loadedAfterImporting(['data:text/javascript,import "node:http";']).some((m) => m.includes('undici')));
});

test('http and https are the modules node:http and node:https export', async () => {
  assert.equal(http.request, (await import('node:http')).request);
  assert.equal(https.createServer, (await import('node:https')).createServer);
});
