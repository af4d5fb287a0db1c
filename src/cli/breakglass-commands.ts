/** `driftgate grant …` and `driftgate tasks …`: the responder's and auditor's commands. */
import { Command, Option } from 'commander';
import type { Grant } from '../grants/grant.ts';
import type { Task, TaskSummary } from '../tasks/task.ts';
import { call, resolveConnection, type ClientOptions } from './client.ts';
import { grantLine, renderGrant, renderTask, taskLine } from './render.ts';
import { parseResourceRef } from './resource-ref.ts';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
type Common = ClientOptions & { output: string };

function connectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'driftgate server (env DRIFTGATE_SERVER, default https://localhost:8443)'))
    .addOption(new Option('--token <token>', 'Bearer token (env DRIFTGATE_TOKEN)'))
    .addOption(new Option('--ca <file>', 'CA bundle for the server (env DRIFTGATE_CA, default certs/ca.crt)'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `list` sub-commands share their filters and output: one line per item, or the JSON. */
function listCommand<T>(parent: Command, out: Out, what: string, order: string, states: string[], path: string, line: (item: T) => string): void {
  connectionOptions(
    parent
      .command('list')
      .description(`list ${what}, ${order}`)
      .addOption(new Option('--state <state>', `only ${what} in this state`).choices(states))
      .option('-n, --namespace <ns>', 'only this namespace'),
  ).action(async (o: Common & { state?: string; namespace?: string }) => {
    const q = new URLSearchParams({ ...(o.state ? { state: o.state } : {}), ...(o.namespace ? { namespace: o.namespace } : {}) });
    const { items } = await call<{ items: T[] }>(resolveConnection(o), 'GET', `${path}${q.size ? `?${q}` : ''}`);
    if (o.output === 'json') return out.stdout(JSON.stringify(items, null, 2));
    out.stdout(items.length === 0 ? `no ${what}` : items.map(line).join('\n'));
  });
}

export function grantCommand(out: Out, name = 'grant'): Command {
  const grant = new Command(name).description('request, approve, revoke and inspect break-glass grants');
  const show = (o: Common, g: Grant) => out.stdout(o.output === 'json' ? JSON.stringify(g, null, 2) : renderGrant(g));

  connectionOptions(
    grant
      .command('request')
      .description('request a grant: driftgate grant request -n prod deployment/api --reason "…" --incident INC-1')
      .argument('<resources...>', 'kind/name (name may be * or a glob), e.g. deployment/api')
      .requiredOption('-n, --namespace <ns>', 'namespace')
      .requiredOption('--reason <text>', 'why the change cannot wait for Git')
      .option('--incident <id>', 'incident reference (required by the default policy)')
      .option('--ttl <duration>', 'lifetime, e.g. 30m (default and maximum: policy)')
      .option('--path <path>', 'limit the grant to a field path (repeatable)', collect)
      .addOption(new Option('--operation <op>', 'operation to allow (repeatable; default UPDATE)').choices(['CREATE', 'UPDATE', 'DELETE']).argParser(collect))
      .option('--user <name>', 'another user who may use the grant (repeatable; default: you)', collect)
      .option('--group <name>', 'a group whose members may use the grant (repeatable)', collect),
  ).action(async (refs: string[], o: Common & { namespace: string; reason: string; incident?: string; ttl?: string; path?: string[]; operation?: string[]; user?: string[]; group?: string[] }) => {
    const body = {
      namespace: o.namespace,
      resources: refs.map(parseResourceRef),
      reason: o.reason,
      ...(o.incident ? { incident: o.incident } : {}),
      ...(o.ttl ? { ttl: o.ttl } : {}),
      ...(o.path ? { paths: o.path } : {}),
      ...(o.operation ? { operations: o.operation } : {}),
      ...(o.user || o.group ? { subjects: { users: o.user ?? [], groups: o.group ?? [] } } : {}),
    };
    const g = await call<Grant>(resolveConnection(o), 'POST', '/v1/grants', body);
    show(o, g);
    if (o.output !== 'json' && g.state === 'pending-approval') out.stderr(`driftgate: grant ${g.id} needs approval: driftgate grant approve ${g.id}`);
  });

  connectionOptions(grant.command('approve').description('approve a pending grant (approvers must differ from the requester)').argument('<id>').option('--reason <text>', 'note'))
    .action(async (id: string, o: Common & { reason?: string }) => show(o, await call<Grant>(resolveConnection(o), 'POST', `/v1/grants/${encodeURIComponent(id)}/approve`, o.reason ? { reason: o.reason } : {})));

  connectionOptions(grant.command('revoke').description('revoke a grant now').argument('<id>').option('--reason <text>', 'note'))
    .action(async (id: string, o: Common & { reason?: string }) => show(o, await call<Grant>(resolveConnection(o), 'POST', `/v1/grants/${encodeURIComponent(id)}/revoke`, o.reason ? { reason: o.reason } : {})));

  connectionOptions(grant.command('show').description('show one grant').argument('<id>'))
    .action(async (id: string, o: Common) => show(o, await call<Grant>(resolveConnection(o), 'GET', `/v1/grants/${encodeURIComponent(id)}`)));

  listCommand<Grant>(grant, out, 'grants', 'newest first', ['pending-approval', 'active', 'expired', 'revoked'], '/v1/grants', grantLine);
  return grant;
}

export function tasksCommand(out: Out): Command {
  const tasks = new Command('tasks').description('the revert-or-backport tasks recorded for admitted bypasses');
  listCommand<TaskSummary>(tasks, out, 'tasks', 'oldest first', ['pending', 'reverted', 'backported', 'accepted', 'not-applied'], '/v1/tasks', taskLine);
  connectionOptions(tasks.command('show').description('show one task as a readable diff').argument('<id>')).action(async (id: string, o: Common) => {
    const t = await call<Task>(resolveConnection(o), 'GET', `/v1/tasks/${encodeURIComponent(id)}`);
    out.stdout(o.output === 'json' ? JSON.stringify(t, null, 2) : renderTask(t));
  });
  return tasks;
}
