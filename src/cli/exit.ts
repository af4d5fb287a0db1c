/** CLI failure: a one-line reason on stderr and a non-zero exit code (2: bad input or config). */
import { ConfigError, DriftgateError, errorMessage } from '../errors.ts';

export class CliExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message = '') {
    super(message);
    this.exitCode = exitCode;
  }
}

export function failureLine(err: unknown): string {
  if (err instanceof ConfigError) return `driftgate: invalid policy: ${err.message}`;
  if (err instanceof DriftgateError) return `driftgate: ${err.message}`;
  return `driftgate: ${errorMessage(err)}`;
}
