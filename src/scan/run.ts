/**
 * The scan, end to end: pages of live objects stream through `analyzeObject`; only the reports that
 * hold drift are kept (everything else is counted), so memory follows the drift, not the cluster.
 * With a task sink, each report's unrecorded drift is recorded as it is found.
 */
import { isProtected } from '../admission/decide.ts';
import type { KubeObject } from '../admission/types.ts';
import { groupOf } from '../manifests/read.ts';
import type { Policy } from '../policy/policy.ts';
import { analyzeObject, refOf } from './analyze.ts';
import { missingFinding, type DesiredIndex } from './desired.ts';
import { TaskLedger, type TaskReader } from './ledger.ts';
import { detectedDrafts, recordDrafts, type TaskSink } from './record.ts';
import { isDrift, type ObjectReport, type ScanResult, type SummaryKey } from './types.ts';

export interface ScanPage {
  readonly items: readonly KubeObject[];
  readonly collection?: string;
  /** `group/Kind` of a listed collection (known even when it is empty), for `missing` */
  readonly kind?: string;
}

export interface ScanInput {
  readonly pages: AsyncIterable<ScanPage> | Iterable<ScanPage>;
  /** what was scanned, for the report: `cluster https://…` or the dump paths */
  readonly source: string;
  readonly policy: Policy;
  readonly controllerManagers: ReadonlySet<string>;
  readonly desired?: DesiredIndex;
  /** recorded tasks, to tell recorded drift from unrecorded */
  readonly tasks?: TaskReader;
  /** record each unrecorded drift as a task here (`--record`, the server's scheduled scan) */
  readonly record?: TaskSink;
  /** namespaces to scan (a live scan has already chosen them); default: every protected one */
  readonly namespaces?: ReadonlySet<string>;
  readonly now: Date;
  /** the installation's Secret hash key, so Secret drift matches the webhook's tasks across runs */
  readonly secretHashKey?: Uint8Array;
  /** called after each page with the number of objects scanned so far */
  readonly progress?: (scanned: number, collection: string | undefined) => void;
}

const KEYS: readonly SummaryKey[] = ['guarded', 'unrecorded', 'recorded', 'orphan', 'missing', 'delegated', 'ignored', 'allowance', 'runtime'];
const zero = (): Record<SummaryKey, number> => Object.fromEntries(KEYS.map((k) => [k, 0])) as Record<SummaryKey, number>;
const kindKey = (o: KubeObject) => `${groupOf(o.apiVersion ?? '')}/${o.kind ?? ''}`;

export async function runScan(input: ScanInput): Promise<ScanResult> {
  const { policy } = input;
  const ctx = { policy, controllerManagers: input.controllerManagers, desired: input.desired, ledger: new TaskLedger(input.tasks), secretHashKey: input.secretHashKey };
  const objects: ObjectReport[] = [];
  const counts = { objects: zero(), findings: zero() };
  const namespaces = new Set<string>();
  const kinds = new Set<string>();
  const recordedTasks: string[] = [];
  let scanned = 0;
  let withoutManagedFields = 0;
  const scope = (ns: string) => (input.namespaces ? input.namespaces.has(ns) : isProtected(ns, policy, undefined));

  const count = (r: ObjectReport) => {
    const seen = new Set<SummaryKey>();
    for (const f of r.findings) {
      const keys: SummaryKey[] = [f.category];
      if (f.recorded === true) keys.push('recorded');
      if (f.recorded === false) keys.push('unrecorded');
      for (const k of keys) {
        counts.findings[k] += 1;
        seen.add(k);
      }
    }
    for (const k of seen) counts.objects[k] += 1;
  };

  for await (const page of input.pages) {
    if (page.kind) kinds.add(page.kind);
    for (const obj of page.items) {
      const ns = obj.metadata?.namespace;
      if (!ns || !scope(ns)) continue;
      scanned += 1;
      namespaces.add(ns);
      kinds.add(kindKey(obj));
      if (!Array.isArray(obj.metadata?.managedFields) || obj.metadata.managedFields.length === 0) withoutManagedFields += 1;
      const report = await analyzeObject(obj, ctx);
      if (!report) continue;
      count(report);
      // an operator's child is listed (with --show-all) so the report says whose it is
      if (!report.findings.some((f) => isDrift(f) || f.rule === 'operator-owned')) continue;
      if (input.record) recordedTasks.push(...(await recordDrafts(input.record, detectedDrafts(report, input.now))));
      objects.push(report);
    }
    input.progress?.(scanned, page.collection);
  }

  for (const git of input.desired?.missing((o) => kinds.has(kindKey(o)) && (!o.metadata?.namespace || scope(o.metadata.namespace))) ?? []) {
    const { finding, owner } = missingFinding(git, policy);
    const report: ObjectReport = { object: refOf(git), ...(owner ? { owner } : {}), findings: [finding] };
    count(report);
    objects.push(report);
  }

  return {
    scannedAt: input.now.toISOString(),
    source: input.source,
    objects,
    summary: { objectsScanned: scanned, namespaces: [...namespaces].sort(), objects: counts.objects, findings: counts.findings, withoutManagedFields },
    ...(input.record ? { recordedTasks: [...new Set(recordedTasks)] } : {}),
  };
}
