/** Encode: a verdict (or an error) → the AdmissionReview v1 response. The uid is set here and only here. */
import type { DriftgateError } from '../errors.ts';
import type { AdmissionResponse, AdmissionReviewResponse } from './types.ts';

export interface Answer {
  readonly allowed: boolean;
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly warnings?: readonly string[];
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

export function encodeReview(uid: string, a: Answer): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: a.allowed };
  if (!a.allowed) {
    response.status = { code: a.code ?? 403, message: a.message ?? 'denied', ...(a.reason ? { reason: a.reason } : {}) };
  } else if (a.message) {
    response.status = { code: 200, message: a.message };
  }
  if (a.warnings && a.warnings.length > 0) response.warnings = [...a.warnings];
  if (a.auditAnnotations && Object.keys(a.auditAnnotations).length > 0) response.auditAnnotations = { ...a.auditAnnotations };
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

const REASONS: Record<number, string> = { 400: 'BadRequest', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 500: 'InternalError', 503: 'ServiceUnavailable' };

export function encodeError(uid: string, err: DriftgateError): AdmissionReviewResponse {
  return encodeReview(uid, { allowed: false, code: err.status, reason: REASONS[err.status] ?? 'BadRequest', message: `driftgate: ${err.message}` });
}
