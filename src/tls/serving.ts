/**
 * The TLS listener's certificate: created for development when absent, and reloaded from disk when
 * the files change (cert-manager renewal, a Secret update) without a restart or a dropped connection.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Server } from 'node:https';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';
import { generateCertificates, hasServingCertificate, readServingFiles, writeCertificates, type ServingFiles } from './certs.ts';

export function ensureServingCertificate(dir: string, logger: Logger): ServingFiles {
  if (!hasServingCertificate(dir)) {
    logger.warn({ dir }, 'no serving certificate found: generating a development CA and certificate (driftgate certs init); trust certs/ca.crt');
    writeCertificates(dir, generateCertificates({ service: 'driftgate', namespace: 'driftgate', days: 365 }));
  }
  return readServingFiles(dir);
}

/** Watches the certificate directory; on a valid new pair, swaps the server's secure context. */
export function watchServingCertificate(dir: string, server: Server, logger: Logger): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const reload = (): void => {
    try {
      const files = readServingFiles(dir);
      if (files.cert === last) return;
      server.setSecureContext({ cert: files.cert, key: files.key });
      last = files.cert;
      logger.info({ dir }, 'serving certificate reloaded');
    } catch (err) {
      logger.error({ dir, err: errorMessage(err) }, 'serving certificate changed but is unusable: keeping the previous one');
    }
  };
  try {
    last = readServingFiles(dir).cert;
  } catch {
    last = '';
  }
  // Watch the directory, not the files: Secret volumes swap a symlinked directory atomically.
  const w = watch(dir, () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 200);
  });
  w.unref();
  return w;
}
