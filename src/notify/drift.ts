/**
 * From a drift scan to notifications: one `drift.found` per object with guarded drift that no task
 * records (values are not sent: only paths, owner and the field managers that last wrote them).
 */
import type { ScanResult } from '../scan/types.ts';
import type { DriftFinding } from './events.ts';

export function unrecordedDrift(r: ScanResult): DriftFinding[] {
  const out: DriftFinding[] = [];
  for (const o of r.objects) {
    const found = o.findings.filter((f) => f.category === 'guarded' && f.recorded === false);
    if (found.length === 0) continue;
    const writers = [...new Set(found.flatMap((f) => (f.writer ? [f.writer.manager] : [])))];
    out.push({
      namespace: o.object.namespace,
      kind: o.object.kind,
      name: o.object.name,
      ...(o.owner ? { owner: o.owner } : {}),
      paths: found.map((f) => f.path),
      ...(writers.length > 0 ? { writers } : {}),
    });
  }
  return out;
}
