/**
 * The scan's output: readable text grouped by namespace and owner, Markdown for a ticket, or the
 * JSON of the result. Values are shown as `driftgate diff` shows them (Secret values are hashes
 * already); runtime, delegated, ignored and allowance findings are counted, listed with --show-all.
 */
import { showValue } from '../admission/redact.ts';
import { isDrift, type Finding, type ObjectReport, type ScanResult, type WriteEvidence } from './types.ts';

export type ScanFormat = 'text' | 'json' | 'markdown';

const NO_OWNER = '(no GitOps owner)';

function writtenBy(w: WriteEvidence | undefined): string {
  if (!w) return '';
  return `${w.manager} (${w.operation}${w.subresource ? ` /${w.subresource}` : ''})${w.time ? ` at ${w.time}` : ''}`;
}

function label(f: Finding): string {
  if (f.category === 'guarded') return f.recorded === false ? 'UNRECORDED' : f.recorded ? 'recorded' : 'guarded';
  if (f.category === 'orphan' || f.category === 'missing') return f.recorded === false ? f.category.toUpperCase() : f.category;
  return f.category;
}

function values(f: Finding): string {
  if (f.path === '(object)') return '';
  return f.git !== undefined ? `: ${showValue(f.git, 60)} → ${showValue(f.live, 60)}` : `: ${showValue(f.live, 60)}`;
}

function why(f: Finding): string {
  const parts = [f.writer ? `by ${writtenBy(f.writer)}` : undefined, f.taskId ? `task ${f.taskId}` : undefined, f.rule, f.note];
  return parts.filter(Boolean).join('; ');
}

/** Reports by namespace, then by owner, in a stable order. */
function grouped(objects: readonly ObjectReport[]): Map<string, Map<string, ObjectReport[]>> {
  const out = new Map<string, Map<string, ObjectReport[]>>();
  const sorted = [...objects].sort((a, b) => `${a.object.namespace}\u0000${a.owner ?? '\uffff'}\u0000${a.object.kind}\u0000${a.object.name}`.localeCompare(`${b.object.namespace}\u0000${b.owner ?? '\uffff'}\u0000${b.object.kind}\u0000${b.object.name}`));
  for (const r of sorted) {
    const ns = out.get(r.object.namespace || '(no namespace)') ?? new Map<string, ObjectReport[]>();
    out.set(r.object.namespace || '(no namespace)', ns);
    const owner = r.owner ?? NO_OWNER;
    ns.set(owner, [...(ns.get(owner) ?? []), r]);
  }
  return out;
}

function headline(r: ScanResult): string {
  const f = r.summary.findings;
  const o = r.summary.objects;
  const drift = f.unrecorded + f.recorded + f.guarded > 0 || o.orphan + o.missing > 0;
  if (!drift) return `no drift: ${r.summary.objectsScanned} object(s) scanned in ${r.summary.namespaces.length} namespace(s)`;
  return `${f.unrecorded} unrecorded drift finding(s) on ${o.unrecorded} object(s); ${f.recorded} recorded; ${o.orphan} orphan(s); ${o.missing} missing; ${r.summary.objectsScanned} object(s) scanned in ${r.summary.namespaces.length} namespace(s)`;
}

function notes(r: ScanResult): string[] {
  const out: string[] = [];
  const quiet = r.summary.findings;
  out.push(`not drift: ${quiet.delegated} delegated, ${quiet.ignored} ignored, ${quiet.allowance} allowance, ${quiet.runtime} controller-managed/runtime finding(s)`);
  if (r.summary.withoutManagedFields > 0) out.push(`${r.summary.withoutManagedFields} object(s) without managedFields: their writers cannot be told (dump with kubectl get -o json --show-managed-fields)`);
  if (r.recordedTasks) out.push(`recorded: ${r.recordedTasks.length} task(s)${r.recordedTasks.length ? ` (${r.recordedTasks.join(', ')})` : ''}`);
  return out;
}

export function renderText(r: ScanResult, showAll = false): string {
  const lines: string[] = [`driftgate scan of ${r.source} at ${r.scannedAt}`];
  for (const [ns, owners] of grouped(r.objects)) {
    lines.push('', `namespace ${ns}`);
    for (const [owner, reports] of owners) {
      lines.push(`  ${owner}`);
      for (const rep of reports) {
        lines.push(`    ${rep.object.apiVersion} ${rep.object.kind} ${rep.object.name}`);
        for (const f of rep.findings) {
          if (!showAll && !isDrift(f)) continue;
          const reason = why(f);
          lines.push(`      ${label(f).padEnd(10)}  ${f.path}${values(f)}${reason ? `  (${reason})` : ''}`);
        }
      }
    }
  }
  lines.push('', headline(r), ...notes(r));
  return lines.join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: ScanResult): string {
  const lines = [`# driftgate scan: ${headline(r)}`, '', `Scanned ${r.source} at ${r.scannedAt}.`, ''];
  for (const n of notes(r)) lines.push(`- ${cell(n)}`);
  for (const [ns, owners] of grouped(r.objects)) {
    lines.push('', `## Namespace \`${ns}\``);
    for (const [owner, reports] of owners) {
      lines.push('', `### ${cell(owner)}`);
      for (const rep of reports) {
        lines.push('', `**${rep.object.kind} ${rep.object.namespace}/${rep.object.name}** (${rep.object.apiVersion})`, '', '| state | path | Git | live | written by | task / note |', '|---|---|---|---|---|---|');
        for (const f of rep.findings.filter(isDrift)) {
          const note = [f.taskId, f.rule, f.note].filter(Boolean).join('; ');
          lines.push(`| ${label(f)} | \`${cell(f.path)}\` | ${f.git === undefined ? '' : `\`${cell(showValue(f.git, 60))}\``} | ${f.live === undefined ? '' : `\`${cell(showValue(f.live, 60))}\``} | ${cell(writtenBy(f.writer))} | ${cell(note)} |`);
        }
      }
    }
  }
  lines.push('', 'Next step for each unrecorded drift: change it in Git (backport), or let GitOps revert it; `driftgate scan --record` turns each into a task.');
  return lines.join('\n');
}

export function renderScan(r: ScanResult, format: ScanFormat, showAll = false): string {
  if (format === 'json') return JSON.stringify(r, null, 2);
  if (format === 'markdown') return renderMarkdown(r);
  return renderText(r, showAll);
}
