/**
 * pino, configured once: JSON lines on stdout, secrets redacted by path. The admission path never
 * logs bodies; redaction is the second line of defence for headers and tokens.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

// Exact paths only: wildcards make pino scan every key of every line, on the admission hot path.
export const REDACT_PATHS = ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', 'password', 'data', 'stringData'];

/** Lines are written in batches of this many bytes, and at least every FLUSH_MS. */
const BATCH_BYTES = 4096;
const FLUSH_MS = 250;

/**
 * stdout, written asynchronously with a bounded buffer: a log destination that blocks or fails (a
 * full disk behind a file, a stalled pipe) never stops request handling. Lines beyond 8 MiB of
 * backlog are dropped, and write errors are swallowed; what is still buffered is flushed at exit.
 * Under load, lines leave in 4 KiB batches (one write instead of one per decision); a quiet server
 * flushes within 250 ms.
 */
function stdoutDestination(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES, maxLength: 8 * 1024 * 1024 });
  dest.on('error', () => undefined);
  setInterval(() => {
    try {
      dest.flush();
    } catch {
      // nothing buffered, or the destination is gone: the next batch tries again
    }
  }, FLUSH_MS).unref();
  process.once('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // the destination is gone or full: nothing more can be done
    }
  });
  return dest;
}

/**
 * pino's isoTime, formatted once per millisecond: under load many lines share one, and toISOString
 * was a tenth of a decision line's cost.
 */
function isoTimeEachMs(): () => string {
  let lastMs = -1;
  let last = '';
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      last = `,"time":"${new Date(ms).toISOString()}"`;
    }
    return last;
  };
}

export function createLogger(level = process.env.DRIFTGATE_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'driftgate',
      level,
      base: undefined,
      timestamp: isoTimeEachMs(),
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination ?? (level === 'silent' ? undefined : stdoutDestination()),
  );
}
