/**
 * Development and self-managed certificates with node-forge: a CA and a serving certificate for the
 * webhook Service (`<service>.<namespace>.svc`, `.svc.cluster.local`, localhost, 127.0.0.1).
 * File names follow the kubernetes.io/tls Secret and cert-manager layout: ca.crt, tls.crt, tls.key.
 */
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type Forge from 'node-forge';

// node-forge is loaded only when a certificate is made (first start, renewal): a serving process that
// finds its certificates never holds it in memory.
const require = createRequire(import.meta.url);
let loaded: typeof Forge | undefined;
const lazyForge = (): typeof Forge => (loaded ??= require('node-forge') as typeof Forge);
import { DriftgateError, errorMessage } from '../errors.ts';

export interface CertOptions {
  readonly service: string;
  readonly namespace: string;
  readonly days: number;
  readonly now?: Date;
}

export interface CertBundle {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

export const CA_CERT = 'ca.crt';
export const CA_KEY = 'ca.key';
export const TLS_CERT = 'tls.crt';
export const TLS_KEY = 'tls.key';

function serial(): string {
  // positive, 16 bytes
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function validity(cert: Forge.pki.Certificate, now: Date, days: number): void {
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate clock skew
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
}

export function serviceHostnames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service, 'localhost'];
}

export interface CertificateAuthority {
  readonly cert: string;
  readonly key: string;
}

/** A CA for the webhook, valid twice as long as the serving certificates it signs (at least a year). */
export function generateCA(opts: CertOptions): CertificateAuthority {
  const forge = lazyForge();
  const now = opts.now ?? new Date();
  const caKeys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  validity(ca, now, Math.max(opts.days * 2, 365));
  const caName = [{ name: 'commonName', value: `driftgate CA (${opts.namespace})` }, { name: 'organizationName', value: 'driftgate' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(ca), key: forge.pki.privateKeyToPem(caKeys.privateKey) };
}

/** A serving certificate for the webhook Service, signed by `authority`. */
export function issueServingCertificate(authority: CertificateAuthority, opts: CertOptions): { cert: string; key: string } {
  const forge = lazyForge();
  const now = opts.now ?? new Date();
  const ca = forge.pki.certificateFromPem(authority.cert);
  const caKey = forge.pki.privateKeyFromPem(authority.key);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, now, opts.days);
  // A certificate must never outlive the CA that signed it.
  if (cert.validity.notAfter > ca.validity.notAfter) cert.validity.notAfter = ca.validity.notAfter;
  const hosts = serviceHostnames(opts.service, opts.namespace);
  cert.setSubject([{ name: 'commonName', value: hosts[0]! }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...hosts.map((value) => ({ type: 2, value })), { type: 7, ip: '127.0.0.1' }] },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function generateCertificates(opts: CertOptions): CertBundle {
  const ca = generateCA(opts);
  const serving = issueServingCertificate(ca, opts);
  return { caCert: ca.cert, caKey: ca.key, cert: serving.cert, key: serving.key };
}

export function writeCertificates(dir: string, b: CertBundle): void {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, pem: string, mode: number): void => {
    writeFileSync(join(dir, name), pem, { mode });
    chmodSync(join(dir, name), mode);
  };
  write(CA_KEY, b.caKey, 0o600);
  write(TLS_KEY, b.key, 0o600);
  write(CA_CERT, b.caCert, 0o644);
  write(TLS_CERT, b.cert, 0o644);
}

export function hasServingCertificate(dir: string): boolean {
  return existsSync(join(dir, TLS_CERT)) && existsSync(join(dir, TLS_KEY));
}

export interface ServingFiles {
  readonly cert: string;
  readonly key: string;
}

/** Reads and checks the serving pair (a cert whose key does not match is refused, not served). */
export function readServingFiles(dir: string): ServingFiles {
  try {
    const cert = readFileSync(join(dir, TLS_CERT), 'utf8');
    const key = readFileSync(join(dir, TLS_KEY), 'utf8');
    // node:crypto here, not forge: cert-manager may issue ECDSA keys, which forge cannot read.
    if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
      throw new Error(`${TLS_KEY} does not match ${TLS_CERT}`);
    }
    return { cert, key };
  } catch (err) {
    throw new DriftgateError('CERTS_INVALID', `cannot use the serving certificate in ${dir}: ${errorMessage(err)}`, { cause: err });
  }
}

export function describeCertificate(pem: string): { subject: string; notAfter: Date; sans: string[] } {
  const c = new X509Certificate(pem);
  return {
    subject: c.subject,
    notAfter: new Date(c.validTo),
    sans: (c.subjectAltName ?? '').split(', ').filter(Boolean).map((s) => s.replace(/^(DNS|IP Address):/, '')),
  };
}
