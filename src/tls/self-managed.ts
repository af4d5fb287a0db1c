/**
 * Self-managed certificates (optional): driftgate makes its own CA and serving certificate, keeps
 * them in a kubernetes.io/tls Secret that every replica shares, writes them to the certificate
 * directory (which the server watches and reloads), and puts the CA into the
 * ValidatingWebhookConfiguration's caBundle. It renews the serving certificate before it expires
 * (same CA: the caBundle does not change), and the CA before it expires (old and new CA together in
 * the caBundle, so no API server call fails during the switch).
 *
 * Concurrency between replicas: the Secret is created once (409 AlreadyExists → use the winner's) and
 * replaced with its resourceVersion (409 → re-read); the webhook configuration likewise.
 */
import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DriftgateError, errorMessage } from '../errors.ts';
import { CA_CERT, generateCA, issueServingCertificate, TLS_CERT, TLS_KEY } from './certs.ts';

export interface SelfManagedOptions {
  readonly kubeConfig: KubeConfig;
  /** driftgate's namespace (Secret and Service) */
  readonly namespace: string;
  readonly service: string;
  readonly secretName: string;
  readonly webhookConfiguration: string;
  readonly certsDir: string;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** serving certificate lifetime (days) */
  readonly days?: number;
  /** renew this long before expiry (days) */
  readonly renewBeforeDays?: number;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');
const code = (err: unknown) => (err as { code?: number }).code;

interface Material {
  readonly cert: string;
  readonly key: string;
  /** the CA bundle to trust (may hold the previous CA during a CA rotation) */
  readonly caBundle: string;
  readonly caCert: string;
  readonly caKey: string;
}

function material(s: V1Secret): Material | undefined {
  const d = s.data ?? {};
  const m = { cert: unb64(d[TLS_CERT]), key: unb64(d[TLS_KEY]), caBundle: unb64(d[CA_CERT]), caCert: unb64(d['ca-signing.crt'] ?? d[CA_CERT]), caKey: unb64(d['ca.key']) };
  return m.cert && m.key && m.caCert && m.caKey ? m : undefined;
}

function expiresWithin(pem: string, days: number, now: Date): boolean {
  return new Date(new X509Certificate(pem).validTo).getTime() - now.getTime() < days * 86_400_000;
}

/** Not valid yet (clock skew, a Secret restored from elsewhere): clients would refuse it. */
function notYetValid(pem: string, now: Date): boolean {
  return new Date(new X509Certificate(pem).validFrom).getTime() > now.getTime() + 5 * 60_000;
}

function firstCert(bundle: string): string {
  return /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(bundle)?.[0] ?? bundle;
}

export class SelfManagedCerts {
  readonly #o: Required<Omit<SelfManagedOptions, 'now'>> & { now: () => Date };
  readonly #core: CoreV1Api;
  readonly #admission: AdmissionregistrationV1Api;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: SelfManagedOptions) {
    this.#o = { days: 365, renewBeforeDays: 30, now: () => new Date(), ...o };
    this.#core = o.kubeConfig.makeApiClient(CoreV1Api);
    this.#admission = o.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  }

  /** Makes sure a valid certificate exists, is on disk, and is trusted by the webhook configuration. */
  async ensure(): Promise<Material> {
    const m = await this.#secretMaterial();
    this.#writeFiles(m);
    await this.#patchCaBundle(m.caBundle);
    return m;
  }

  start(everyMs = 3_600_000): void {
    this.#timer = setInterval(() => {
      this.ensure().catch((err: unknown) => this.#o.logger.error({ err: errorMessage(err) }, 'self-managed certificates: renewal check failed; will retry'));
    }, everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #fresh(previous: Material | undefined): Material {
    const o = this.#o;
    const now = o.now();
    const opts = { service: o.service, namespace: o.namespace, days: o.days, now };
    const keepCa = previous && !expiresWithin(previous.caCert, o.renewBeforeDays * 2, now) && !notYetValid(previous.caCert, now);
    const ca = keepCa ? { cert: previous.caCert, key: previous.caKey } : generateCA(opts);
    const serving = issueServingCertificate(ca, opts);
    // During a CA rotation the old CA stays trusted next to the new one.
    const caBundle = keepCa ? previous.caBundle : previous ? `${ca.cert}${firstCert(previous.caCert)}` : ca.cert;
    return { cert: serving.cert, key: serving.key, caBundle, caCert: ca.cert, caKey: ca.key };
  }

  #secret(m: Material, resourceVersion?: string): V1Secret {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: this.#o.secretName, namespace: this.#o.namespace, labels: { 'app.kubernetes.io/name': 'driftgate' }, ...(resourceVersion ? { resourceVersion } : {}) },
      data: { [TLS_CERT]: b64(m.cert), [TLS_KEY]: b64(m.key), [CA_CERT]: b64(m.caBundle), 'ca-signing.crt': b64(m.caCert), 'ca.key': b64(m.caKey) },
    };
  }

  async #secretMaterial(): Promise<Material> {
    const { namespace, secretName: name, logger } = this.#o;
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      let existing: V1Secret | undefined;
      try {
        existing = await this.#core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (code(err) !== 404) throw new DriftgateError('CERTS_INVALID', `cannot read Secret ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
      }
      const current = existing ? material(existing) : undefined;
      const now = this.#o.now();
      const caDue = (m: Material) => expiresWithin(m.caCert, this.#o.renewBeforeDays * 2, now) || notYetValid(m.caCert, now);
      const certDue = (m: Material) => expiresWithin(m.cert, this.#o.renewBeforeDays, now) || notYetValid(m.cert, now);
      if (current && !certDue(current) && !caDue(current)) return current;
      const next = this.#fresh(current);
      try {
        if (existing) await this.#core.replaceNamespacedSecret({ name, namespace, body: this.#secret(next, existing.metadata?.resourceVersion) });
        else await this.#core.createNamespacedSecret({ namespace, body: this.#secret(next) });
        logger.info({ secret: `${namespace}/${name}`, expires: new X509Certificate(next.cert).validTo }, existing ? 'self-managed certificates: renewed' : 'self-managed certificates: created');
        return next;
      } catch (err) {
        if (code(err) === 409) continue; // another replica got there first: use its certificate
        throw new DriftgateError('CERTS_INVALID', `cannot write Secret ${namespace}/${name}: ${errorMessage(err)}`, { cause: err });
      }
    }
    throw new DriftgateError('CERTS_INVALID', `Secret ${namespace}/${name} kept changing; giving up for now`);
  }

  /** Writes the files the server serves from, each atomically (write, then rename). */
  #writeFiles(m: Material): void {
    const dir = this.#o.certsDir;
    mkdirSync(dir, { recursive: true });
    for (const [file, text, mode] of [
      [TLS_KEY, m.key, 0o600],
      [TLS_CERT, m.cert, 0o644],
      [CA_CERT, m.caBundle, 0o644],
    ] as const) {
      writeFileSync(join(dir, `.${file}.tmp`), text, { mode });
      renameSync(join(dir, `.${file}.tmp`), join(dir, file));
    }
  }

  async #patchCaBundle(bundle: string): Promise<void> {
    const name = this.#o.webhookConfiguration;
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      let vwc;
      try {
        vwc = await this.#admission.readValidatingWebhookConfiguration({ name });
      } catch (err) {
        if (code(err) === 404) {
          this.#o.logger.warn({ name }, 'self-managed certificates: no ValidatingWebhookConfiguration of that name yet; caBundle not set');
          return;
        }
        throw new DriftgateError('CERTS_INVALID', `cannot read ValidatingWebhookConfiguration ${name}: ${errorMessage(err)}`, { cause: err });
      }
      const want = b64(bundle);
      const hooks = vwc.webhooks ?? [];
      if (hooks.every((h) => h.clientConfig.caBundle === want)) return;
      for (const h of hooks) h.clientConfig.caBundle = want;
      try {
        await this.#admission.replaceValidatingWebhookConfiguration({ name, body: vwc });
        this.#o.logger.info({ name }, 'self-managed certificates: caBundle updated');
        return;
      } catch (err) {
        if (code(err) === 409) continue;
        throw new DriftgateError('CERTS_INVALID', `cannot update ValidatingWebhookConfiguration ${name}: ${errorMessage(err)}`, { cause: err });
      }
    }
  }
}
