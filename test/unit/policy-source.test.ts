import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.ts';
import { loadPolicyFile } from '../../src/policy/load.ts';
import { PolicyHolder } from '../../src/policy/source.ts';
import { createLogger } from '../../src/log.ts';
import { LogSink } from '../helpers/deps.ts';

describe('a running server whose policy file is removed', () => {
  it('logs one error, keeps the last good policy through every reload, and takes the file back', () => {
    const dir = tempDir('driftgate-policy-source-');
    const file = join(dir, 'driftgate.yaml');
    writeFileSync(file, 'mode: audit\nprotectedNamespaces: [prod]\n');
    const holder = new PolicyHolder({ file, description: file }, loadPolicyFile(file));
    const sink = new LogSink();
    const logger = createLogger('info', sink.stream);
    rmSync(file);
    for (let i = 0; i < 3; i++) assert.equal(holder.reload(logger), false);
    assert.equal(holder.current().mode, 'audit');
    const errors = sink.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, sink.text);
    assert.equal(errors[0]!.msg, 'policy file removed: keeping the last good policy until the file is back');
    assert.match(holder.lastReloadError ?? '', /is missing/);

    writeFileSync(file, 'mode: enforce\nprotectedNamespaces: [prod]\n');
    assert.equal(holder.reload(logger), true);
    assert.equal(holder.current().mode, 'enforce');
    assert.equal(holder.lastReloadError, undefined);
    rmSync(file);
    assert.equal(holder.reload(logger), false);
    assert.equal(sink.lines.filter((l) => l.level === 'error').length, 2, 'removed again: reported again');
  });
});
