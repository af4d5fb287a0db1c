// Bundles the driftgate CLI and server into one CommonJS file for a Node single executable
// application (Node 24's SEA runs one CommonJS script whose `require` sees only built-in modules).
// Usage: node .ci/sea-bundle.mjs TOOLS_DIR OUT_FILE SEA_CONFIG BLOB   (TOOLS_DIR: where esbuild is installed;
// SEA_CONFIG: the sea-config.json to write for OUT_FILE, BLOB: where that config makes Node write the blob)
//
// The sources read two files next to themselves at run time (package.json for --version, the
// embedded example policy); the bundle carries them inline. Each rewrite below must apply exactly
// once, so a refactor of those lines fails this build instead of shipping a binary that reads the
// build machine's files.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const [toolsDir, outfile, seaConfig, blob] = process.argv.slice(2);
if (!toolsDir || !outfile || !seaConfig || !blob) throw new Error('usage: node .ci/sea-bundle.mjs TOOLS_DIR OUT_FILE SEA_CONFIG BLOB');
const { build } = createRequire(join(toolsDir, 'package.json'))('esbuild');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const text = (file) => readFileSync(join(root, file), 'utf8');

const rewrites = {
  'src/main.ts': [
    // top-level await is not allowed in CommonJS: the same code in an async function
    [/\ntry \{\n {2}await buildProgram/, '\nvoid (async () => {\ntry {\n  await buildProgram'],
    [/\n$/, '\n})();\n'],
  ],
  'src/cli/program.ts': [[/readFileSync\(new URL\('\.\.\/\.\.\/package\.json', import\.meta\.url\), 'utf8'\)/, JSON.stringify(text('package.json'))]],
  'src/policy/load.ts': [[/readFileSync\(EXAMPLE_POLICY_URL, 'utf8'\)/, JSON.stringify(text('examples/driftgate.yaml'))]],
  // node-forge is loaded lazily through createRequire; the module's own require lets esbuild bundle it
  'src/tls/certs.ts': [[/^const require = createRequire\(import\.meta\.url\);$/m, '']],
};

const sea = {
  name: 'driftgate-sea',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const rel = relative(root, args.path);
      let contents = readFileSync(args.path, 'utf8');
      for (const [pattern, replacement] of rewrites[rel] ?? []) {
        const next = contents.replace(pattern, () => replacement);
        if (next === contents) throw new Error(`sea-bundle: ${rel} no longer contains ${pattern}; update .ci/sea-bundle.mjs`);
        contents = next;
      }
      // what is left of import.meta.url points into a directory that does not exist (e.g. the checkout's certs/)
      contents = contents.replaceAll('import.meta.url', JSON.stringify(`file:///driftgate-sea/${rel}`));
      return { contents, loader: 'ts' };
    });
  },
};

// The serving process's Node flags and malloc settings, as bin/launch.cjs gives `driftgate serve` (one list:
// test/deploy/node-flags.test.ts keeps launch.cjs's equal to the image's). The flags go into the
// executable's own execArgv (every command starts with them; they cost a short CLI command nothing);
// GLIBC_TUNABLES is read by glibc only at exec, so `serve` replaces itself once with it set, as the launcher does.
const launcher = text('bin/launch.cjs');
const constant = (name) => {
  const m = new RegExp(`^const ${name} = (.+);$`, 'm').exec(launcher);
  if (!m) throw new Error(`sea-bundle: bin/launch.cjs no longer defines ${name}; update .ci/sea-bundle.mjs`);
  return JSON.parse(m[1].replaceAll("'", '"'));
};
const serveFlags = constant('SERVE_NODE_FLAGS');
const tunables = constant('GLIBC_TUNABLES');

// Invoked under the name kubectl-breakglass (a link to the executable), it is the kubectl plugin,
// as bin/kubectl-breakglass makes it for the npm package. In a single executable, process.argv is
// [executable, executable, ...arguments].
const banner = `if (require('node:path').basename(process.argv0) === 'kubectl-breakglass') { process.argv.splice(1, 1, 'kubectl-breakglass', 'breakglass'); }
else if (process.argv[2] === 'serve' && process.env.DRIFTGATE_SERVE_FLAGS !== '1' && typeof process.execve === 'function') {
  const env = { ...process.env, DRIFTGATE_SERVE_FLAGS: '1' };
  if (env.GLIBC_TUNABLES === undefined) env.GLIBC_TUNABLES = ${JSON.stringify(tunables)};
  try { process.execve(process.execPath, [process.argv0, ...process.argv.slice(2)], env); }
  catch (err) { process.stderr.write('driftgate: serving without the malloc settings of the image (' + (err && err.message ? err.message : String(err)) + '); set GLIBC_TUNABLES=' + ${JSON.stringify(tunables)} + ' to have them\\n'); }
}
delete process.env.DRIFTGATE_SERVE_FLAGS;`;

await build({
  entryPoints: [join(root, 'src/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  outfile,
  plugins: [sea],
  banner: { js: banner },
  legalComments: 'none',
  // The executable holds the whole bundle as one script (22 MiB unminified, @kubernetes/client-node most of
  // it), its source kept in memory by V8: whitespace and syntax minified, names kept (stack frames and error
  // names stay readable), a served process holds less of it.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

writeFileSync(seaConfig, JSON.stringify({ main: outfile, output: blob, disableExperimentalSEAWarning: true, execArgv: serveFlags }) + '\n');
