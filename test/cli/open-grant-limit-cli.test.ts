/** `driftgate grant request` beyond breakGlass.maxOpenGrantsPerRequester: exit 1 with the server's reason and the next step. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('driftgate grant request at the open-grant limit', () => {
  let server: RunningServer;
  let env: Record<string, string>;

  before(async () => {
    const dir = tempDir('driftgate-limitcli-');
    const config = join(dir, 'policy.yaml');
    writeFileSync(config, 'protectedNamespaces: [prod]\nbreakGlass: {maxOpenGrantsPerRequester: 1}\n');
    server = await startServer({ config, port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false });
    const token = (await runCli(['dev', 'token', '--user', 'alice', '--groups', 'oncall', '--data-dir', join(dir, 'data')], {})).stdout.trim();
    env = { DRIFTGATE_SERVER: `https://localhost:${server.port}`, DRIFTGATE_CA: join(dir, 'certs', 'ca.crt'), DRIFTGATE_TOKEN: token, DRIFTGATE_CLI_CONFIG: join(dir, 'none.yaml') };
  });
  after(async () => server.close());

  it('shows the refusal with the grant to revoke and the command that does it, and exits 1', async () => {
    const request = (name: string) => runCli(['grant', 'request', '-n', 'prod', `deploy/${name}`, '--ttl', '30m', '--reason', 'bad image', '--incident', 'INC-3', '-o', 'json'], env);
    const first = await request('api');
    assert.equal(first.code, 0, first.stderr);
    const { id } = JSON.parse(first.stdout) as { id: string };
    const second = await request('web');
    assert.equal(second.code, 1);
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /^driftgate: alice already holds 1 open grant\(s\), the most one requester may hold \(breakGlass\.maxOpenGrantsPerRequester: 1\)/);
    assert.match(second.stderr, new RegExp(`revoke one you no longer need with \`driftgate grant revoke <id>\` \\(yours, soonest to expire first: ${id};`));
    assert.match(second.stderr, /\(TOO_MANY_OPEN_GRANTS\)/);
    assert.equal((await runCli(['grant', 'revoke', id], env)).code, 0);
    assert.equal((await request('web')).code, 0);
  });
});
