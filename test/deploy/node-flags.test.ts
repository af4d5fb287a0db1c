/**
 * The served process's Node flags (young-generation cap, no background recompilation, no Maglev:
 * docs/benchmarks.md, serving-process memory) are the same wherever driftgate is started to serve:
 * the image's entry point, `npm start`, and the benchmarks that measure what the image runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** the words before the script in the image's ENTRYPOINT ["node", flags…, "dist/main.js"] */
function imageFlags(): string[] {
  const entry = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(read('Dockerfile'))![1]!) as string[];
  return entry.slice(1, entry.indexOf('dist/main.js'));
}

/** the words between `node` and the script in package.json's start script */
function startFlags(): string[] {
  const words = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('src/main.ts'));
}

/** a `const NAME = ['--a', '--b'];` array of flags in a bench script */
function benchFlags(file: string, name: string): string[] {
  const literal = new RegExp(`const ${name} = (\\[[^\\]]*\\]);`).exec(read(file))?.[1];
  assert.ok(literal, `${name} in ${file}`);
  return JSON.parse(literal.replaceAll("'", '"')) as string[];
}

test('npm start and the benchmarks run the server with the image entry point\'s Node flags', () => {
  const flags = imageFlags();
  assert.ok(flags.includes('--no-maglev') && flags.some((f) => f.startsWith('--max-semi-space-size=')), flags.join(' '));
  assert.deepEqual(startFlags(), flags);
  assert.deepEqual(benchFlags('bench/run.ts', 'DRIFTGATE_NODE_FLAGS'), flags);
  assert.deepEqual(benchFlags('bench/memory.ts', 'IMAGE_FLAGS'), flags);
});

test('this Node accepts every flag of the image (a renamed V8 flag would stop the server from starting)', () => {
  const r = spawnSync(process.execPath, [...imageFlags(), '-e', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
