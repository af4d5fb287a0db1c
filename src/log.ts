/**
 * pino, configured once: JSON lines on stdout, secrets redacted by path. The admission path never
 * logs bodies; redaction is the second line of defence for headers and tokens.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

// Exact paths only: wildcards make pino scan every key of every line, on the admission hot path.
export const REDACT_PATHS = ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', 'password', 'data', 'stringData'];

/**
 * stdout, written asynchronously with a bounded buffer: a log destination that blocks or fails (a
 * full disk behind a file, a stalled pipe) never stops request handling. Lines beyond 8 MiB of
 * backlog are dropped, and write errors are swallowed; what is still buffered is flushed at exit.
 */
function stdoutDestination(): DestinationStream {
  const dest = pino.destination({ dest: 1, sync: false, maxLength: 8 * 1024 * 1024 });
  dest.on('error', () => undefined);
  process.once('exit', () => {
    try {
      dest.flushSync();
    } catch {
      // the destination is gone or full: nothing more can be done
    }
  });
  return dest;
}

export function createLogger(level = process.env.DRIFTGATE_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'driftgate',
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination ?? (level === 'silent' ? undefined : stdoutDestination()),
  );
}
