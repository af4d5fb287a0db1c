'use strict';
// Shared by bin/driftgate and bin/kubectl-breakglass. CommonJS and old syntax on purpose: it must run
// on any Node far enough to say clearly that it needs a newer one.
//
// - Node >= 22.19: runs the TypeScript sources in a checkout (Node strips the types), the compiled
//   dist/ in an installed package or the container image. A checkout never runs a stale build.
// - Older Node in a checkout: re-runs itself on the project's own Node (the `node` devDependency in
//   node_modules), so bin/ on the PATH works without changing the machine's Node.
// - Older Node elsewhere: refuses with what to install, exit code 2.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');
const { pathToFileURL } = require('node:url');

const MIN = [22, 19];
const root = join(__dirname, '..');

// `driftgate serve` runs with the Node flags and malloc settings of the image's entry point and `npm start`
// (docs/install.md; test/deploy/node-flags.test.ts keeps the lists identical): less memory, less CPU per
// review. Node takes them only at start, so the launcher replaces itself (execve: same process, no parent
// left waiting) with a Node started with them.
const SERVE_NODE_FLAGS = ['--max-semi-space-size=8', '--no-concurrent-recompilation', '--no-maglev', '--no-parallel-scavenge'];
const GLIBC_TUNABLES = 'glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072';

function withServeFlags(name) {
  const args = process.argv.slice(2);
  if (name !== 'driftgate' || args[0] !== 'serve' || process.env.DRIFTGATE_SERVE_FLAGS === '1') return;
  if (typeof process.execve !== 'function' || process.platform === 'win32') return;
  const env = { ...process.env, DRIFTGATE_SERVE_FLAGS: '1' };
  if (env.GLIBC_TUNABLES === undefined) env.GLIBC_TUNABLES = GLIBC_TUNABLES; // an operator's own setting wins
  try {
    process.execve(process.execPath, [process.execPath, ...SERVE_NODE_FLAGS, ...process.execArgv, join(__dirname, name), ...args], env);
  } catch (err) {
    process.stderr.write(`${name}: serving without the image's Node flags (${err && err.message ? err.message : String(err)}); start it as \`node ${SERVE_NODE_FLAGS.join(' ')} ${join(__dirname, name)} serve …\` to have them\n`);
  }
}

function supported(version) {
  const [major, minor] = version.split('.').map(Number);
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1]);
}

/** The entry module for this package layout: src/ in a checkout, dist/ when only that is shipped. */
function entry() {
  const source = join(root, 'src', 'main.ts');
  // Node refuses to strip types under node_modules: an installed package always runs dist/.
  if (existsSync(source) && !root.split(/[\\/]/).includes('node_modules')) return source;
  const compiled = join(root, 'dist', 'main.js');
  if (existsSync(compiled)) return compiled;
  process.stderr.write(`driftgate: neither src/main.ts nor dist/main.js under ${root}; reinstall the package (or run npm run build)\n`);
  process.exit(2);
}

module.exports = function launch(name, prefixArgs) {
  if (!supported(process.versions.node)) {
    const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
    if (existsSync(pinned) && !process.env.DRIFTGATE_LAUNCHED) {
      const r = spawnSync(pinned, [join(__dirname, name), ...process.argv.slice(2)], {
        stdio: 'inherit',
        env: { ...process.env, DRIFTGATE_LAUNCHED: '1' },
      });
      if (r.error) {
        process.stderr.write(`${name}: cannot run the project's Node at ${pinned}: ${r.error.message}\n`);
        process.exit(2);
      }
      if (r.signal) process.kill(process.pid, r.signal);
      process.exit(r.status === null ? 1 : r.status);
    }
    if (existsSync(join(root, 'src', 'main.ts')) && !existsSync(join(root, 'node_modules'))) {
      process.stderr.write(`${name}: run npm ci in ${root} first: it installs the project's own Node 24, which this command then uses (\`node\` on the PATH is ${process.version})\n`);
      process.exit(2);
    }
    process.stderr.write(
      `${name}: needs Node.js ${MIN.join('.')} or newer, but \`node\` on the PATH is ${process.version} (${process.execPath}).\n` +
        `Install a current Node.js LTS (https://nodejs.org/en/download, or nvm / your package manager) and run it again;\n` +
        `or use the container image, which brings its own Node.\n`,
    );
    process.exit(2);
  }
  delete process.env.DRIFTGATE_LAUNCHED;
  withServeFlags(name);
  delete process.env.DRIFTGATE_SERVE_FLAGS;
  process.argv.splice(2, 0, ...prefixArgs);
  import(pathToFileURL(entry()).href).catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && !existsSync(join(root, 'node_modules'))) {
      process.stderr.write(`${name}: the dependencies are not installed: run npm ci in ${root}\n`);
    } else {
      process.stderr.write(`${name}: ${err && err.stack ? err.stack : String(err)}\n`);
    }
    process.exit(2);
  });
};
