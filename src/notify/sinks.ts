/**
 * Delivering one notification to one sink. A generic webhook gets the event as JSON, signed with
 * HMAC-SHA256 over `<timestamp>.<body>`; a Slack-compatible incoming webhook gets `{text}`.
 * Secrets (the HMAC key, a Slack URL) are read at delivery time (so a rotated file takes effect) and
 * never appear in a result, a log line or an error message.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errorMessage } from '../errors.ts';
import type { NotificationSink } from '../policy/policy.ts';
import type { Notification } from './events.ts';

export const SIGNATURE_HEADER = 'x-driftgate-signature';
export const TIMESTAMP_HEADER = 'x-driftgate-timestamp';
export const DELIVERY_HEADER = 'x-driftgate-delivery';
export const EVENT_HEADER = 'x-driftgate-event';

export type DeliveryResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly status?: number; readonly error: string };

/** `sha256=<hex>` over `<timestamp>.<body>`: what a receiver recomputes to trust a delivery. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** A secret from a file or an environment variable; the error names where, never the value. */
function readSecret(file: string | undefined, env: string | undefined, what: string): string {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${what} file ${file} is unreadable: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, { cause: err });
    }
    const value = text.trim();
    if (value === '') throw new Error(`${what} file ${file} is empty`);
    return value;
  }
  const value = process.env[env ?? '']?.trim();
  if (!value) throw new Error(`${what} environment variable ${env} is not set`);
  return value;
}

function urlOf(sink: NotificationSink): string {
  return sink.url ?? readSecret(sink.urlFile, sink.urlEnv, `sink ${sink.name} URL`);
}

/** Checks that a sink's URL and secret can be read (at start, so a typo shows up before the first event). */
export function sinkProblem(sink: NotificationSink): string | undefined {
  try {
    new URL(urlOf(sink));
    if (sink.type === 'webhook') readSecret(sink.secretFile, sink.secretEnv, `sink ${sink.name} secret`);
    return undefined;
  } catch (err) {
    return err instanceof TypeError ? `sink ${sink.name}: the URL is not a URL` : errorMessage(err);
  }
}

export interface Request {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The HTTP request a sink receives for a notification (pure apart from reading the secrets). */
export function requestFor(sink: NotificationSink, n: Notification, now: Date, attempt: number): Request {
  const url = urlOf(sink);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'driftgate-notify' };
  if (sink.type === 'slack') return { url, headers, body: JSON.stringify({ text: n.summary }) };
  const body = JSON.stringify({ id: n.key, type: n.type, at: n.at, summary: n.summary, data: n.data, attempt });
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const secret = readSecret(sink.secretFile, sink.secretEnv, `sink ${sink.name} secret`);
  return {
    url,
    body,
    headers: { ...headers, [EVENT_HEADER]: n.type, [DELIVERY_HEADER]: n.key, [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature(secret, timestamp, body) },
  };
}

/** One attempt: 2xx is delivered; anything else (or no answer within the sink's timeout) is retried. */
export async function deliver(sink: NotificationSink, n: Notification, now: Date, attempt: number): Promise<DeliveryResult> {
  let req: Request;
  try {
    req = requestFor(sink, n, now, attempt);
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
  try {
    const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, redirect: 'error', signal: AbortSignal.timeout(sink.timeoutMs) });
    await res.body?.cancel();
    if (res.ok) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    // fetch's messages name the host at most; the URL's path (a Slack token) is never included
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { ok: false, error: (err as Error).name === 'TimeoutError' ? `no answer within ${sink.timeoutMs} ms` : `unreachable${cause ? ` (${cause})` : ''}` };
  }
}
