/**
 * The floor: a bare Node HTTPS server with the same TLS settings and body limit as driftgate, that
 * reads each request body and answers one fixed, allowed AdmissionReview. What no webhook can beat.
 * Usage: node bench/floor.ts PORT CERTS_DIR
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';

const [port, certs] = [Number(process.argv[2]), process.argv[3] ?? 'certs'];
const LIMIT = 8 * 1024 * 1024;
const ANSWER = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'fixed', allowed: true } });

const server = createServer(
  { cert: readFileSync(join(certs, 'tls.crt')), key: readFileSync(join(certs, 'tls.key')), minVersion: 'TLSv1.2' },
  (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= LIMIT) chunks.push(c);
    });
    req.on('end', () => {
      if (size > LIMIT) {
        res.writeHead(413).end();
        return;
      }
      Buffer.concat(chunks); // the body is read in full, as driftgate reads it
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) }).end(ANSWER);
    });
  },
);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
