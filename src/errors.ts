/**
 * One error type with a stable string `code` per failure, so callers and tests branch on codes,
 * never on message text. `status` is the HTTP status the failure maps to at the edge.
 */
export type ErrorCode =
  | 'REVIEW_MALFORMED'
  | 'REVIEW_UNSUPPORTED_VERSION'
  | 'REVIEW_UNSUPPORTED_MEDIA_TYPE'
  | 'REVIEW_TOO_LARGE'
  | 'REVIEW_TOO_DEEP'
  | 'REVIEW_BUSY'
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'INPUT_INVALID'
  | 'CERTS_INVALID'
  | 'JOURNAL_TAMPERED'
  | 'JOURNAL_LEGACY'
  | 'STORE_UNAVAILABLE'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_MANY_OPEN_GRANTS'
  | 'INVALID_REQUEST'
  | 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  REVIEW_MALFORMED: 400,
  REVIEW_UNSUPPORTED_VERSION: 400,
  REVIEW_UNSUPPORTED_MEDIA_TYPE: 415,
  REVIEW_TOO_LARGE: 413,
  REVIEW_TOO_DEEP: 400,
  // unfinished request bodies already hold the webhook's whole body budget: retry shortly
  REVIEW_BUSY: 503,
  CONFIG_INVALID: 422,
  CONFIG_UNREADABLE: 422,
  INPUT_INVALID: 400,
  CERTS_INVALID: 500,
  JOURNAL_TAMPERED: 500,
  JOURNAL_LEGACY: 500,
  // the store refuses writes for now (full disk, API server unreachable): retry later
  STORE_UNAVAILABLE: 503,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  // the requester's open grants conflict with a new one (breakGlass.maxOpenGrantsPerRequester): 409, not 429,
  // because retrying never helps by itself; revoking a grant (or one expiring) does
  TOO_MANY_OPEN_GRANTS: 409,
  INVALID_REQUEST: 422,
  INTERNAL: 500,
};

export class DriftgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DriftgateError';
    this.code = code;
    this.status = STATUS[code];
  }
}

/** A policy file with problems: every problem, each with the path into the file and what is wrong. */
export class ConfigError extends DriftgateError {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super('CONFIG_INVALID', `${source}: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
