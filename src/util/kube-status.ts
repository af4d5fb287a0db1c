/** The HTTP status of a failed @kubernetes/client-node call (ApiException's `code`, or a response's `statusCode`). */
export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  return typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
}
