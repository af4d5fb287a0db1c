/**
 * The served process's Node flags (young-generation cap, no background recompilation, no Maglev, no
 * helper threads for young-generation collections) and
 * glibc malloc settings (GLIBC_TUNABLES; docs/benchmarks.md, serving-process memory) are the same
 * wherever driftgate is started to serve: the image's entry point and environment, `npm start`, and the
 * benchmarks that measure what the image runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../helpers/tmp.ts';
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
  assert.deepEqual(benchFlags('bin/launch.cjs', 'SERVE_NODE_FLAGS'), flags);
});

test('npm start and the benchmarks set glibc malloc as the image\'s environment does', () => {
  const tunables = imageTunables();
  assert.ok(tunables?.includes('glibc.malloc.arena_max='), `ENV GLIBC_TUNABLES in the Dockerfile: ${tunables}`);
  assert.equal(startTunables(), tunables);
  assert.equal(benchString('bench/run.ts', 'GLIBC_TUNABLES'), tunables);
  assert.equal(benchString('bench/memory.ts', 'GLIBC_TUNABLES'), tunables);
  assert.equal(benchString('bin/launch.cjs', 'GLIBC_TUNABLES'), tunables);
});

/**
 * The words of a running process's command line, and its environment as /proc shows it: raw, since glibc
 * cuts GLIBC_TUNABLES at each `:` in place (NULs) when it reads the settings.
 */
function processView(pid: number): { argv: string[]; environ: string } {
  const text = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8');
  return { argv: text('cmdline').split('\0').filter(Boolean), environ: `\0${text('environ')}` };
}

const NO_PROC = existsSync('/proc/self/cmdline') ? false : 'no /proc here';

/**
 * Starts `bin/driftgate serve` with `env`, waits until the pid it was given runs with the serving flags
 * (the launcher replaces itself, so the same pid serves: no parent left running), and returns what
 * /proc shows of it.
 */
async function servedByLauncher(env: NodeJS.ProcessEnv): Promise<{ argv: string[]; environ: string; running: boolean }> {
  const dir = tempDir('driftgate-launch-');
  const port = 20_000 + Math.floor(Math.random() * 40_000);
  const child = spawn(process.execPath, [join(ROOT, 'bin/driftgate'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--log-level', 'error'], { env, stdio: 'ignore' });
  try {
    let view = processView(child.pid!);
    for (let i = 0; i < 200 && !view.argv.includes('--no-maglev'); i += 1) {
      await sleep(50);
      view = processView(child.pid!);
    }
    return { ...view, running: child.exitCode === null };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

test('the driftgate command serves with the image\'s Node flags and malloc settings, in the same process', { skip: NO_PROC }, async () => {
  const view = await servedByLauncher({ ...process.env, GLIBC_TUNABLES: undefined, DRIFTGATE_SERVE_FLAGS: undefined });
  const flags = imageFlags();
  assert.deepEqual(view.argv.slice(1, 1 + flags.length), flags, view.argv.join(' '));
  const [first, ...rest] = imageTunables()!.split(':');
  assert.ok(view.environ.includes(`\0GLIBC_TUNABLES=${first}\0`), 'GLIBC_TUNABLES as the image sets it');
  for (const setting of rest) assert.ok(view.environ.includes(`\0${setting}\0`), setting);
  assert.ok(view.running);
});

test('an operator\'s own GLIBC_TUNABLES wins over the image\'s', { skip: NO_PROC }, async () => {
  const view = await servedByLauncher({ ...process.env, GLIBC_TUNABLES: 'glibc.malloc.arena_max=4', DRIFTGATE_SERVE_FLAGS: undefined });
  assert.ok(view.argv.includes('--no-maglev'), view.argv.join(' '));
  assert.ok(view.environ.includes('\0GLIBC_TUNABLES=glibc.malloc.arena_max=4\0'));
  assert.ok(!view.environ.includes('trim_threshold'));
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
