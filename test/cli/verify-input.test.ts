/**
 * `tasks verify` refuses input it cannot verify against (exit 2, a reason that says what to do), and
 * id arguments are never empty. None of this needs a server: the command stops before calling one.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { fileTree, tempDir } from '../helpers/tmp.ts';

function cli(args: string[]) {
  const dir = tempDir('driftgate-verify-cli-');
  // a server nobody listens on: reaching it would fail differently from what these tests expect
  return runCli(args, { DRIFTGATE_SERVER: 'https://127.0.0.1:9', DRIFTGATE_TOKEN: 'not-used', DRIFTGATE_CLI_CONFIG: join(dir, 'none.yaml') }, dir);
}

const input = (files: Record<string, string>): string => fileTree(files, 'driftgate-verify-in-');

const DEPLOYMENT = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: prod}\nspec: {replicas: 3}\n';

describe('driftgate tasks verify: input it cannot verify against', () => {
  for (const [name, desired, reason] of [
    ['an empty file from a failed kustomize build', (d: string) => join(d, 'rendered.yaml'), /--desired .*rendered\.yaml: no Kubernetes objects .*render them again \(kustomize build \/ helm template\)/],
    ['a directory with no manifests', (d: string) => join(d, 'empty'), /--desired .*empty: no Kubernetes objects \(an empty file, or a directory without \.yaml\/\.yml\/\.json files\?\)/],
    ['unparsable YAML', (d: string) => join(d, 'broken.yaml'), /broken\.yaml: invalid YAML/],
    ['a missing path', (d: string) => join(d, 'nope'), /cannot read .*nope/],
  ] as const) {
    it(`exits 2 on ${name}, reporting no task`, async () => {
      const d = input({ 'rendered.yaml': '', 'empty/README.md': 'no manifests here', 'broken.yaml': 'kind: [Deployment\n' });
      const r = await cli(['tasks', 'verify', '--desired', desired(d)]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, reason);
      assert.equal(r.stdout, '');
    });
  }

  it('exits 2 on an empty --live dump', async () => {
    const d = input({ 'git/api.yaml': DEPLOYMENT, 'live.yaml': '' });
    const r = await cli(['tasks', 'verify', '--desired', join(d, 'git'), '--live', join(d, 'live.yaml')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--live .*live\.yaml: no Kubernetes objects .*kubectl get -o yaml/);
  });
});

describe('driftgate grant / tasks: an empty id', () => {
  for (const args of [
    ['tasks', 'show', ''],
    ['tasks', 'resolve', ' ', '--as', 'accepted', '--evidence', 'x'],
    ['grant', 'show', ''],
    ['grant', 'approve', ''],
    ['grant', 'revoke', ''],
  ]) {
    it(`${args.slice(0, 2).join(' ')} "${args[2]}" exits 2 and says where ids come from`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`a ${args[0] === 'grant' ? 'grant' : 'task'} id is required \\(driftgate ${args[0]} list shows them\\)`));
      assert.doesNotMatch(r.stderr, /Cannot read properties/);
    });
  }
});
