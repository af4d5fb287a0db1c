/**
 * Runtime fields (SPEC §1): owned by the API server or controllers, never drift.
 */
import type { FieldPath } from './field-path.ts';

const RUNTIME_METADATA = new Set([
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
]);

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const RUNTIME_ANNOTATIONS = new Set([LAST_APPLIED, 'deployment.kubernetes.io/revision']);

/** True when `path` is a runtime field or lies below one. Runtime paths are at most three deep. */
export function isRuntimePath(path: FieldPath): boolean {
  const a = path[0];
  if (a?.k !== 'key') return false;
  if (a.key === 'status') return true;
  if (a.key !== 'metadata') return false;
  const b = path[1];
  if (b?.k !== 'key') return false;
  if (RUNTIME_METADATA.has(b.key)) return true;
  if (b.key !== 'annotations') return false;
  const c = path[2];
  return c?.k === 'key' && RUNTIME_ANNOTATIONS.has(c.key);
}
