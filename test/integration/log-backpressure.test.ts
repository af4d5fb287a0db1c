/**
 * Issue 11 item 4: a log destination that stops taking lines (a full disk behind a file, a reader
 * that stopped reading a pipe) must not stop request handling: the server logs every decision at
 * debug to a pipe nobody reads, or to a file on a full filesystem (a 64 KiB tmpfs: needs root, skipped
 * elsewhere); every request is still answered.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { generateCertificates, writeCertificates } from '../../src/tls/certs.ts';
import { freePort } from '../../bench/stats.ts';
import { fixtureText } from '../helpers/reviews.ts';
import { tempDir } from '../helpers/tmp.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const POLICY = fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url));

function post(port: number, agent: Agent, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, method: path === '/healthz' ? 'GET' : 'POST', path, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function serveAndCall(stdio: StdioOptions, onSpawn: (p: ReturnType<typeof spawn>) => void = () => undefined): Promise<{ answered: number; exitCode: number | null }> {
  const dir = tempDir('driftgate-logdest-');
  const certs = join(dir, 'certs');
  const bundle = generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 1 });
  writeCertificates(certs, bundle);
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN, 'serve', '--config', POLICY, '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'), '--certs-dir', certs, '--log-level', 'debug'], { stdio });
  onSpawn(proc);
  const agent = new Agent({ keepAlive: true, ca: bundle.caCert, maxSockets: 8 });
  try {
    for (let i = 0; ; i += 1) {
      if ((await post(port, agent, '/healthz', '').catch(() => 0)) === 200) break;
      if (i > 200) throw new Error('server did not start');
      await sleep(50);
    }
    const body = fixtureText('09-alice-set-image-deployment.json'); // denied: about 400 bytes of log each
    let answered = 0;
    for (let round = 0; round < 40; round += 1) {
      const codes = await Promise.all(Array.from({ length: 25 }, () => post(port, agent, '/validate', body).catch(() => 0)));
      answered += codes.filter((c) => c === 200).length;
    }
    return { answered, exitCode: proc.exitCode };
  } finally {
    agent.destroy();
    proc.kill('SIGKILL');
  }
}

describe('a log destination that blocks or fails', () => {
  it('answers every request while nobody reads the server\'s stdout (a full pipe)', async () => {
    const r = await serveAndCall(['ignore', 'pipe', 'ignore'], (p) => p.stdout!.pause());
    assert.equal(r.answered, 1000, 'every review was answered although the log pipe was full');
  });

  const mnt = tempDir('driftgate-logfs-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0;
  it('answers every request while its log file is on a full disk', { skip: mounted ? false : 'cannot mount a tmpfs here (needs root)' }, async () => {
    try {
      try {
        writeFileSync(join(mnt, 'filler'), Buffer.alloc(64 * 1024));
      } catch {
        // full
      }
      const log = openSync(join(mnt, 'driftgate.log'), 'w');
      const r = await serveAndCall(['ignore', log, 'ignore']);
      assert.equal(r.exitCode, null, 'the server is still running');
      assert.equal(r.answered, 1000, 'every review was answered although the log file could not grow');
    } finally {
      spawnSync('umount', ['-l', mnt]);
    }
  });
});
