// The floor: a bare Node HTTPS server with driftgate's TLS settings and body limit, answering every
// request with one fixed, allowed AdmissionReview. Plain JavaScript, so nothing but Node is measured.
//   node bench/floor.js PORT CERTS_DIR parse|read
//   parse: reads the body and JSON.parses it (what any webhook must do before it can decide)
//   read:  reads the body only
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';

const [port, certs, mode] = [Number(process.argv[2]), process.argv[3] ?? 'certs', process.argv[4] ?? 'parse'];
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
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size <= LIMIT) chunks.push(c);
    });
    req.on('end', () => {
      if (size > LIMIT) {
        res.writeHead(413, { connection: 'close' }).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      if (mode === 'parse') JSON.parse(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) }).end(ANSWER);
    });
  },
);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
