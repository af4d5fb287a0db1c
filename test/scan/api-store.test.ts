import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issueDevToken } from '../../src/auth/authenticator.ts';
import { createLogger } from '../../src/log.ts';
import { scanCommand } from '../../src/scan/command.ts';
import type { ScanResult } from '../../src/scan/types.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { argoDeploymentEditedByHand, list } from './objects.ts';

const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

describe('scan --store server: recorded tasks read through driftgate\'s API (the embedded store)', () => {
  let server: RunningServer;
  let dir: string;

  before(async () => {
    dir = tempDir();
    server = await startServer({ config: POLICY, port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    // alice's bypass of kubectl edit, recorded by the webhook under a grant
    await server.store.recordBypass({
      grantId: 'g-1',
      writer: { username: 'alice', groups: ['oncall'] },
      operation: 'UPDATE',
      object: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'api' },
      owner: 'manager/argocd-controller',
      changes: [{ path: 'spec.revisionHistoryLimit', before: 5, after: 7 }],
      admissionUid: 'adm-edit',
      recordedAt: new Date().toISOString(),
    });
    writeFileSync(join(dir, 'live.json'), JSON.stringify(list(argoDeploymentEditedByHand())));
  });
  after(() => server.close());

  it('calls the bypassed field recorded (with its task) and the rest unrecorded', async () => {
    const token = await issueDevToken(join(dir, 'data'), 'alice', ['oncall'], 600);
    const stdout: string[] = [];
    const code = await scanCommand(
      [join(dir, 'live.json')],
      { output: 'json', pageSize: 500, storeNamespace: 'driftgate', store: 'server', server: `https://localhost:${server.port}`, ca: join(dir, 'certs', 'ca.crt'), token, quiet: true },
      { stdout: (s) => stdout.push(s), stderr: () => undefined },
    );
    assert.equal(code, 1);
    const r = JSON.parse(stdout.join('\n')) as ScanResult;
    const edit = r.objects[0]!.findings.find((f) => f.path === 'spec.revisionHistoryLimit')!;
    assert.deepEqual([edit.recorded, edit.taskId], [true, server.store.listTasks({})[0]!.id]);
    assert.deepEqual([r.summary.findings.recorded, r.summary.findings.unrecorded], [1, 9]);
  });
});
