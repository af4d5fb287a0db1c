// Bundles the driftgate CLI and server into one CommonJS file for a Node single executable
// application (Node 24's SEA runs one CommonJS script whose `require` sees only built-in modules).
// Usage: node .ci/sea-bundle.mjs TOOLS_DIR OUT_FILE   (TOOLS_DIR: where esbuild is installed)
//
// The sources read two files next to themselves at run time (package.json for --version, the
// embedded example policy); the bundle carries them inline. Each rewrite below must apply exactly
// once, so a refactor of those lines fails this build instead of shipping a binary that reads the
// build machine's files.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const [toolsDir, outfile] = process.argv.slice(2);
if (!toolsDir || !outfile) throw new Error('usage: node .ci/sea-bundle.mjs TOOLS_DIR OUT_FILE');
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

// Invoked under the name kubectl-breakglass (a link to the executable), it is the kubectl plugin,
// as bin/kubectl-breakglass makes it for the npm package.
const banner = `if (require('node:path').basename(process.argv0) === 'kubectl-breakglass') { process.argv.splice(1, 1, 'kubectl-breakglass', 'breakglass'); }`;

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
  logLevel: 'warning',
});
