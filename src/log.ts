/**
 * pino, configured once: JSON lines on stdout, secrets redacted by path. The admission path never
 * logs bodies; redaction is the second line of defence for headers and tokens.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

// Exact paths only: wildcards make pino scan every key of every line, on the admission hot path.
export const REDACT_PATHS = ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', 'password', 'data', 'stringData'];

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
    destination,
  );
}
