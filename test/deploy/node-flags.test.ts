/**
 * The served process's Node flags (young-generation cap, no background recompilation, no Maglev, no
 * helper threads for young-generation collections) and
 * glibc malloc settings (GLIBC_TUNABLES; docs/benchmarks.md, serving-process memory) are the same
 * wherever driftgate is started to serve: the image's entry point and environment, `npm start`, and the
 * benchmarks that measure what the image runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** the words before the script in the image's ENTRYPOINT ["node", flags…, "dist/main.js"] */
function imageFlags(): string[] {
  const entry = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(read('Dockerfile'))![1]!) as string[];
  return entry.slice(1, entry.indexOf('dist/main.js'));
}

/** package.json's start script as words */
function startWords(): string[] {
  return (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
}

/** the words between `node` and the script in package.json's start script */
function startFlags(): string[] {
  const words = startWords();
  return words.slice(words.indexOf('node') + 1, words.indexOf('src/main.ts'));
}

/** GLIBC_TUNABLES as the image's ENV sets it, and as the words before `node` in the start script set it */
function imageTunables(): string | undefined {
  return /^ENV GLIBC_TUNABLES=(\S+)$/m.exec(read('Dockerfile'))?.[1];
}
function startTunables(): string | undefined {
  const words = startWords();
  return words.slice(0, words.indexOf('node')).find((w) => w.startsWith('GLIBC_TUNABLES='))?.slice('GLIBC_TUNABLES='.length);
}

/** a `const NAME = '…';` string in a bench script */
function benchString(file: string, name: string): string | undefined {
  return new RegExp(`const ${name} = '([^']*)';`).exec(read(file))?.[1];
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

test('npm start and the benchmarks set glibc malloc as the image\'s environment does', () => {
  const tunables = imageTunables();
  assert.ok(tunables?.includes('glibc.malloc.arena_max='), `ENV GLIBC_TUNABLES in the Dockerfile: ${tunables}`);
  assert.equal(startTunables(), tunables);
  assert.equal(benchString('bench/run.ts', 'GLIBC_TUNABLES'), tunables);
  assert.equal(benchString('bench/memory.ts', 'GLIBC_TUNABLES'), tunables);
});

/** glibc's dynamic loader, which reads GLIBC_TUNABLES (x86-64 and arm64 Debian paths) */
const LOADER = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'].find((f) => existsSync(f));

test('glibc takes every malloc setting of the image (an unknown or misspelt tunable is ignored without a word)', { skip: LOADER ? false : 'no glibc loader here' }, () => {
  const tunables = imageTunables()!;
  const r = spawnSync(LOADER!, ['--list-tunables'], { encoding: 'utf8', env: { ...process.env, GLIBC_TUNABLES: tunables } });
  assert.equal(r.status, 0, r.stderr);
  for (const setting of tunables.split(':')) {
    const [name, value] = setting.split('=') as [string, string];
    const shown = new RegExp(`^${name.replaceAll('.', '\\.')}: (0x[0-9a-f]+)`, 'm').exec(r.stdout)?.[1];
    assert.equal(shown === undefined ? undefined : Number(shown), Number(value), `${name} as glibc reads it`);
  }
});

test('this Node accepts every flag of the image (a renamed V8 flag would stop the server from starting)', () => {
  const r = spawnSync(process.execPath, [...imageFlags(), '-e', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
