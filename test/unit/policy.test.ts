import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.ts';
import { ConfigError } from '../../src/errors.ts';
import { loadExamplePolicy, loadPolicyFile, parsePolicy } from '../../src/policy/load.ts';
import { PolicyHolder } from '../../src/policy/source.ts';
import { createLogger } from '../../src/log.ts';
import { LogSink } from '../helpers/deps.ts';

function problemsOf(yaml: string): readonly string[] {
  try {
    parsePolicy(yaml, 'p.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected the policy to be refused');
}

describe('policy file (SPEC §3)', () => {
  it('loads the example policy with the documented values', () => {
    const p = loadExamplePolicy();
    assert.equal(p.mode, 'enforce');
    assert.deepEqual([...p.protectedNamespaces.names], ['prod']);
    assert.equal(p.unmanagedCreates, 'deny');
    assert.equal(p.breakGlass.maxTTLMs, 4 * 3600_000);
    assert.equal(p.breakGlass.backportDeadlineMs, 72 * 3600_000);
    assert.equal(p.delegations[0]!.name, 'hpa-replicas');
  });

  it('gives every key a default (an empty file is a valid, safe policy)', () => {
    const p = parsePolicy('', 'empty.yaml');
    assert.equal(p.mode, 'enforce');
    assert.deepEqual(p.protectedNamespaces.matchLabels, { 'driftgate.io/protected': 'true' });
    assert.ok(p.gitops.controllers.has('system:serviceaccount:argocd:argocd-application-controller'));
    assert.equal(p.allowances[0]!.name, 'rollout-restart');
  });

  it('lists every problem with its path, not just the first', () => {
    const problems = problemsOf(
      ['mode: strict', 'protectedNamespace: [prod]', 'delegations: [{name: x, paths: ["spec.containers[0]"]}]', 'breakGlass: {maxTTL: soon}', 'ignore: [{paths: ["/"]}]'].join('\n'),
    );
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('mode:')));
    assert.ok(problems.some((p) => p.includes('unknown key(s) "protectedNamespace"')));
    assert.ok(problems.some((p) => p.startsWith('delegations[0].paths[0]: bad path')));
    assert.ok(problems.some((p) => p.startsWith('breakGlass.maxTTL: bad duration "soon"')));
    assert.ok(problems.some((p) => p.startsWith('ignore[0].paths[0]')));
  });

  it('refuses cross-field mistakes (TTL default above max, delegation naming nothing, argocd-server as a controller)', () => {
    const problems = problemsOf(
      ['breakGlass: {defaultTTL: 5h, maxTTL: 4h}', 'delegations: [{name: empty}]', 'gitops: {controllers: [system:serviceaccount:argocd:argocd-server]}'].join('\n'),
    );
    assert.equal(problems.length, 3, problems.join('\n'));
  });

  it('explains the classic slip of an unquoted [bracketed] path in a flow list', () => {
    const problems = problemsOf('ignore:\n  - paths: [metadata.annotations[example.com/x]]\n');
    assert.match(problems[0]!, /quote paths that contain \[ \]/);
  });

  it('refuses a file that is not a mapping', () => {
    assert.match(problemsOf('- prod')[0]!, /expected a mapping/);
  });

  it('reports an unreadable file with its path', () => {
    assert.throws(() => loadPolicyFile('/nonexistent/driftgate.yaml'), { code: 'CONFIG_UNREADABLE' });
  });

  it('keeps the last good policy when a reload is invalid, and logs why', () => {
    const dir = tempDir('driftgate-policy-');
    const file = join(dir, 'driftgate.yaml');
    writeFileSync(file, 'mode: audit\nprotectedNamespaces: [prod]\n');
    const holder = new PolicyHolder({ file, description: file }, loadPolicyFile(file));
    const sink = new LogSink();
    const logger = createLogger('info', sink.stream);
    writeFileSync(file, 'mode: loud\n');
    assert.equal(holder.reload(logger), false);
    assert.equal(holder.current().mode, 'audit');
    assert.match(sink.text, /policy reload refused: keeping the last good policy/);
    assert.match(sink.text, /mode: Invalid option/);
    writeFileSync(file, 'mode: enforce\nprotectedNamespaces: [prod]\n');
    assert.equal(holder.reload(logger), true);
    assert.equal(holder.current().mode, 'enforce');
  });
});
