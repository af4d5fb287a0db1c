/**
 * Release hygiene a platform team checks before adopting: one version everywhere (package, image tag,
 * krew manifest, changelog), executables that kubectl and npm find, the license the package declares.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as { version: string; license: string; bin: Record<string, string>; files: string[]; private?: boolean; engines: { node: string } };

describe('release hygiene', () => {
  it('ships kubectl-breakglass and driftgate as executables without a suffix, so kubectl finds the plugin', () => {
    assert.deepEqual(Object.keys(pkg.bin).sort(), ['driftgate', 'kubectl-breakglass']);
    for (const [name, file] of Object.entries(pkg.bin)) {
      assert.equal(file, `bin/${name}`);
      accessSync(join(ROOT, file), constants.X_OK);
      assert.match(read(file), /^#!\/usr\/bin\/env node\n/);
    }
    assert.equal(pkg.private, undefined, 'a private package cannot be packed for install');
    for (const dir of ['bin/', 'dist/', 'examples/']) assert.ok(pkg.files.includes(dir), `files: ${dir}`);
  });

  it('refuses the same Node versions in the launcher as package.json engines', () => {
    const [major, minor] = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node)!.slice(1).map(Number);
    assert.match(read('bin/launch.cjs'), new RegExp(`const MIN = \\[${major}, ${minor}\\];`));
  });

  it('tags the image in deploy/ with the package version', () => {
    const images = parseAllDocuments(read('deploy/base/deployment.yaml'))
      .map((d) => d.toJS() as { spec?: { template?: { spec?: { containers?: { image: string }[] } } } })
      .flatMap((d) => d.spec?.template?.spec?.containers ?? [])
      .map((c) => c.image);
    assert.deepEqual(images, [`ghcr.io/driftgate/driftgate:${pkg.version}`]);
  });

  it('has a krew manifest for the package version whose bin is the plugin', () => {
    const m = parse(read('plugins/breakglass.yaml')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { version: string; shortDescription: string; platforms: { uri: string; sha256: string; bin: string; files: { from: string; to: string }[] }[] };
    };
    assert.equal(m.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2');
    assert.equal(m.kind, 'Plugin');
    assert.equal(m.metadata.name, 'breakglass');
    assert.equal(m.spec.version, `v${pkg.version}`);
    assert.ok(m.spec.shortDescription.length <= 50, 'krew limits shortDescription to 50 characters');
    for (const p of m.spec.platforms) {
      assert.ok(p.uri.endsWith(`/v${pkg.version}/kubectl-breakglass-v${pkg.version}.tar.gz`), p.uri);
      assert.match(p.sha256, /^[0-9a-f]{64}$/);
      assert.equal(p.bin, pkg.bin['kubectl-breakglass']);
    }
  });

  it('carries the Apache-2.0 license it declares, and a changelog entry for the version', () => {
    assert.equal(pkg.license, 'Apache-2.0');
    const license = read('LICENSE');
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    assert.match(read('CHANGELOG.md'), new RegExp(`^## \\[${pkg.version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'));
    assert.match(read('SECURITY.md'), /## Supported versions/);
  });
});
