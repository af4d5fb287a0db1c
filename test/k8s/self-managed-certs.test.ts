import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../src/server.ts';
import { createLogger } from '../../src/log.ts';
import { readServingFiles } from '../../src/tls/certs.ts';
import { SelfManagedCerts } from '../../src/tls/self-managed.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor, writeKubeconfig } from './kubeconfig.ts';

describe('self-managed certificates', () => {
  let api: FakeApiServer;
  let kc: KubeConfig;

  before(async () => {
    api = new FakeApiServer();
    const server = await api.start();
    kc = kubeConfigFor(server);
    api.put('validatingwebhookconfigurations', {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'driftgate' },
      webhooks: [{ name: 'validate.driftgate.io', clientConfig: { service: { name: 'driftgate', namespace: 'driftgate', path: '/validate' } }, admissionReviewVersions: ['v1'], sideEffects: 'NoneOnDryRun' }],
    });
  });
  after(async () => api.stop());

  const replica = (now: Date) =>
    new SelfManagedCerts({ kubeConfig: kc, namespace: 'driftgate', service: 'driftgate', secretName: 'driftgate-tls', webhookConfiguration: 'driftgate', certsDir: join(tempDir('driftgate-smc-'), 'certs'), logger: createLogger('silent'), now: () => now, days: 90 });
  const caBundle = () => (api.get('validatingwebhookconfigurations', '', 'driftgate') as unknown as { webhooks: { clientConfig: { caBundle?: string } }[] }).webhooks[0]!.clientConfig.caBundle;
  const start = new Date();

  it('creates the Secret, writes a usable serving pair, and puts the CA into the caBundle', async () => {
    const r = replica(start);
    const m = await r.ensure();
    const secret = api.get('secrets', 'driftgate', 'driftgate-tls') as unknown as { type: string; data: Record<string, string> };
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.equal(Buffer.from(secret.data['tls.crt']!, 'base64').toString(), m.cert);
    assert.equal(caBundle(), Buffer.from(m.caBundle).toString('base64'));
    assert.match(new X509Certificate(m.cert).subjectAltName!, /DNS:driftgate\.driftgate\.svc/);
    assert.ok(new X509Certificate(m.cert).verify(new X509Certificate(m.caCert).publicKey));
  });

  it('lets a second replica reuse the same certificate', async () => {
    const before = api.get('secrets', 'driftgate', 'driftgate-tls')!.metadata.resourceVersion;
    const dir = join(tempDir('driftgate-smc2-'), 'certs');
    const r = new SelfManagedCerts({ kubeConfig: kc, namespace: 'driftgate', service: 'driftgate', secretName: 'driftgate-tls', webhookConfiguration: 'driftgate', certsDir: dir, logger: createLogger('silent'), now: () => start, days: 90 });
    await r.ensure();
    assert.equal(api.get('secrets', 'driftgate', 'driftgate-tls')!.metadata.resourceVersion, before);
    assert.doesNotThrow(() => readServingFiles(dir));
  });

  it('renews the serving certificate before it expires, under the same CA (caBundle unchanged)', async () => {
    const bundle = caBundle();
    const old = (api.get('secrets', 'driftgate', 'driftgate-tls') as unknown as { data: Record<string, string> }).data['tls.crt'];
    const m = await replica(new Date(start.getTime() + 80 * 86_400_000)).ensure(); // 10 days before expiry
    assert.notEqual(Buffer.from(m.cert).toString('base64'), old);
    assert.equal(caBundle(), bundle);
  });

  it('serve --certs-mode self-managed answers over TLS with the certificate kept in the Secret', async () => {
    const dir = tempDir('driftgate-smc-serve-');
    const kubeconfig = writeKubeconfig(dir, kc.getCurrentCluster()!.server);
    process.env.KUBECONFIG = kubeconfig;
    const running = await startServer({ config: fileURLToPath(new URL('../../examples/driftgate.yaml', import.meta.url)), port: 0, host: '127.0.0.1', dataDir: join(dir, 'data'), certsDir: join(dir, 'certs'), logger: createLogger('silent'), watch: false, certsMode: 'self-managed', storeNamespace: 'driftgate' });
    try {
      const ca = Buffer.from(caBundle()!, 'base64').toString();
      const status = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port: running.port, servername: 'driftgate.driftgate.svc', path: '/healthz', ca }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).end();
      });
      assert.equal(status, 200);
    } finally {
      await running.close();
      delete process.env.KUBECONFIG;
    }
  });

  it('rotates the CA before it expires, trusting old and new CA during the switch', async () => {
    const oldCa = (api.get('secrets', 'driftgate', 'driftgate-tls') as unknown as { data: Record<string, string> }).data['ca-signing.crt'];
    const m = await replica(new Date(start.getTime() + 310 * 86_400_000)).ensure(); // the CA (at least 365 days) within 60 days of expiry
    assert.notEqual(Buffer.from(m.caCert).toString('base64'), oldCa);
    const trusted = Buffer.from(caBundle()!, 'base64').toString();
    assert.equal((trusted.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
    assert.ok(trusted.includes(Buffer.from(oldCa!, 'base64').toString().trim()));
    assert.ok(new Date(new X509Certificate(m.cert).validTo) <= new Date(new X509Certificate(m.caCert).validTo), 'the serving certificate never outlives its CA');
  });
});
