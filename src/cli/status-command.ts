/**
 * `driftgate status`: per GitOps owner, is its controller reconciling (synced, healthy, suspended,
 * last successful sync — cluster mode), and what is still open against it (pending tasks, drift
 * detected past the gate). Also the line `tasks show` adds about a task's owner.
 */
import { Command } from 'commander';
import { renderOwnerStatuses, type OwnerStatus } from '../gitops/owner-status.ts';
import type { Task } from '../tasks/task.ts';
import { connectionOptions } from './breakglass-commands.ts';
import { call, resolveConnection, type ClientOptions, type Connection } from './client.ts';
import { CliExit } from './exit.ts';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

interface OwnersAnswer {
  readonly watching: boolean;
  readonly items: OwnerStatus[];
}

export function statusCommand(out: Out): Command {
  const cmd = connectionOptions(
    new Command('status').description('per GitOps owner: synced? healthy? suspended? pending tasks and detected drift (exit 1 when an owner with open tasks is not reconciling)'),
  );
  cmd.action(async (o: ClientOptions & { output: string }) => {
    const a = await call<OwnersAnswer>(resolveConnection(o), 'GET', '/v1/owners');
    if (o.output === 'json') out.stdout(JSON.stringify(a, null, 2));
    else out.stdout(renderOwnerStatuses(a.items, a.watching));
    const stale = a.items.filter((r) => r.ready === false && r.pendingTasks > 0);
    if (stale.length > 0) throw new CliExit(1, `driftgate: ${stale.length} owner(s) with open tasks are not reconciling: ${stale.map((r) => r.owner).join(', ')}`);
  });
  return cmd;
}

/** "Owner argocd/api has synced since this task was recorded (…): a revert by self-heal is expected." */
export async function ownerSyncLine(c: Connection, t: Pick<Task, 'owner' | 'recordedAt' | 'state'>): Promise<string | undefined> {
  let a: OwnersAnswer;
  try {
    a = await call<OwnersAnswer>(c, 'GET', `/v1/owners?owner=${encodeURIComponent(t.owner)}`);
  } catch {
    return undefined; // an older server, or no permission: the task is shown without it
  }
  if (!a.watching) return undefined;
  const row = a.items.find((r) => r.owner === t.owner);
  if (!row || row.kind === undefined) return `Owner: ${t.owner} is not among the Argo CD / Flux objects driftgate watches: whether Git has been re-applied is unknown.`;
  if (row.ready === false) return `Owner: ${t.owner} is NOT reconciling (${row.reason ?? 'unknown'}): the bypass will stay until someone acts.`;
  if (row.lastSyncAt && Date.parse(row.lastSyncAt) > Date.parse(t.recordedAt)) {
    return `Owner: ${t.owner} has synced since this task was recorded (last at ${row.lastSyncAt}, revision ${row.revision ?? '?'}): if it self-heals, the bypass was reverted.`;
  }
  return `Owner: ${t.owner} has not synced since this task was recorded${row.lastSyncAt ? ` (last at ${row.lastSyncAt})` : ''}.`;
}
