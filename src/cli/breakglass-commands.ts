/** `driftgate grant …` and `driftgate tasks …`: the responder's and auditor's commands. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Grant } from '../grants/grant.ts';
import type { Task, TaskSummary } from '../tasks/task.ts';
import { call, loadKubeConfig, resolveConnection, type ClientOptions } from './client.ts';
import { grantTable, renderGrant, renderTask, taskTable } from './render.ts';
import { parseResourceRef } from './resource-ref.ts';
import { readManifests } from '../manifests/read.ts';
import { requireObjects, verifyTasks } from '../drift/verify.ts';
import { liveObjectsOf } from '../drift/live-from-cluster.ts';
import { readSecretHashKey } from '../keys/secret-hash-key.ts';
import type { Report, TaskView } from '../tasks/rules.ts';
import { CliExit } from './exit.ts';
import { ownerSyncLine } from './status-command.ts';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
type Common = ClientOptions & { output: string };

export function connectionOptions(cmd: Command, formats = ['text', 'json']): Command {
  return cmd
    .addOption(new Option('--server <url>', 'driftgate server URL (env DRIFTGATE_SERVER, default https://localhost:8443)'))
    .addOption(new Option('--token <token>', 'Bearer token (env DRIFTGATE_TOKEN; default: the kubeconfig context\'s credentials)'))
    .addOption(new Option('--ca <file>', 'CA bundle for the server (env DRIFTGATE_CA; default certs/ca.crt when present, else the system\'s CAs)'))
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig whose credentials to use when no token is given (default $KUBECONFIG, ~/.kube/config)'))
    .addOption(new Option('--context <name>', 'kubeconfig context (default: the current context)'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(formats).default('text'));
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** A grant or task id argument: an empty one is a usage error that says where ids come from. */
const idArg = (what: 'grant' | 'task') => (v: string): string => {
  if (v.trim() === '') throw new InvalidArgumentError(`a ${what} id is required (driftgate ${what === 'grant' ? 'grant' : 'tasks'} list shows them)`);
  return v;
};

/** `list` sub-commands share their filters and output: one line per item, or the JSON. */
function listCommand<T>(parent: Command, out: Out, what: string, order: string, states: string[], path: string, table: (items: T[]) => string): void {
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
    out.stdout(items.length === 0 ? `no ${what}` : table(items));
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
    if (o.output !== 'json' && g.state === 'pending-approval') out.stderr(`driftgate: grant ${g.id} needs approval: ${name === 'grant' ? 'driftgate grant' : `kubectl ${name}`} approve ${g.id}`);
  });

  connectionOptions(grant.command('approve').description('approve a pending grant (approvers must differ from the requester)').argument('<id>', 'grant id', idArg('grant')).option('--reason <text>', 'note'))
    .action(async (id: string, o: Common & { reason?: string }) => show(o, await call<Grant>(resolveConnection(o), 'POST', `/v1/grants/${encodeURIComponent(id)}/approve`, o.reason ? { reason: o.reason } : {})));

  connectionOptions(grant.command('revoke').description('revoke a grant now').argument('<id>', 'grant id', idArg('grant')).option('--reason <text>', 'note'))
    .action(async (id: string, o: Common & { reason?: string }) => show(o, await call<Grant>(resolveConnection(o), 'POST', `/v1/grants/${encodeURIComponent(id)}/revoke`, o.reason ? { reason: o.reason } : {})));

  connectionOptions(grant.command('show').description('show one grant').argument('<id>', 'grant id', idArg('grant')))
    .action(async (id: string, o: Common) => show(o, await call<Grant>(resolveConnection(o), 'GET', `/v1/grants/${encodeURIComponent(id)}`)));

  listCommand<Grant>(grant, out, 'grants', 'newest first', ['pending-approval', 'active', 'expired', 'revoked'], '/v1/grants', grantTable);
  return grant;
}

function counts(c: { pending: number; overdue: number; resolved: number }): string {
  return `${c.pending} pending, ${c.overdue} overdue, ${c.resolved} resolved`;
}

export function renderReport(r: Report, markdown: boolean): string {
  const lines: string[] = [];
  const h = (t: string) => lines.push(markdown ? `\n## ${t}\n` : `\n${t}`);
  lines.push(markdown ? `# driftgate task report` : 'driftgate task report', `generated ${r.generatedAt}; resolved since ${r.since}`);
  lines.push(`totals: ${counts(r.totals)}`);
  for (const [title, group] of [
    ['By namespace', r.byNamespace],
    ['By owner', r.byOwner],
    ['By writer', r.byWriter],
    ['By incident', r.byIncident],
  ] as const) {
    h(title);
    if (markdown) lines.push('| | pending | overdue | resolved |', '|---|---:|---:|---:|');
    for (const [k, c] of Object.entries(group)) lines.push(markdown ? `| ${k} | ${c.pending} | ${c.overdue} | ${c.resolved} |` : `  ${k.padEnd(32)} ${counts(c)}`);
  }
  h('Pending, oldest first');
  if (r.pending.length === 0) lines.push(markdown ? '_none_' : '  none');
  for (const t of r.pending) lines.push(`${markdown ? '- ' : '  '}${t.id} ${t.overdue ? 'OVERDUE ' : ''}${t.kind} ${t.namespace}/${t.name} by ${t.writer}, grant ${t.grantId}${t.incident ? `, ${t.incident}` : ''}, since ${t.recordedAt}`);
  h('Resolved');
  if (r.resolved.length === 0) lines.push(markdown ? '_none_' : '  none');
  for (const t of r.resolved) lines.push(`${markdown ? '- ' : '  '}${t.id} ${t.state} by ${t.resolution?.by ?? '?'} at ${t.resolution?.at ?? '?'}: ${t.resolution?.evidence ?? ''}`);
  return lines.join('\n');
}

export function tasksCommand(out: Out): Command {
  const tasks = new Command('tasks').description('the revert-or-backport tasks recorded for admitted bypasses');
  listCommand<TaskSummary>(tasks, out, 'tasks', 'oldest first', ['pending', 'reverted', 'backported', 'accepted', 'not-applied'], '/v1/tasks', taskTable);
  connectionOptions(
    tasks
      .command('resolve')
      .description('close a task: reverted (Git back in charge), backported (the fix is in Git) or accepted (documented exception)')
      .argument('<id>', 'task id', idArg('task'))
      .addOption(new Option('--as <state>', 'resolution').choices(['reverted', 'backported', 'accepted']).makeOptionMandatory())
      .requiredOption('--evidence <text>', 'a commit, a PR URL, or why the exception is accepted'),
  ).action(async (id: string, o: Common & { as: string; evidence: string }) => {
    const t = await call<TaskView>(resolveConnection(o), 'POST', `/v1/tasks/${encodeURIComponent(id)}/resolve`, { as: o.as, evidence: o.evidence });
    out.stdout(o.output === 'json' ? JSON.stringify(t, null, 2) : `task ${t.id} ${t.state} by ${t.resolution?.by ?? '?'}: ${t.resolution?.evidence ?? ''}`);
  });

  connectionOptions(
    tasks
      .command('report')
      .description('pending, overdue and recently resolved tasks by namespace, owner, writer and incident')
      .option('--since <when>', 'resolved since: a duration back (168h) or an ISO date', '168h'),
    ['text', 'markdown', 'json'],
  ).action(async (o: Common & { since: string }) => {
      const r = await call<Report>(resolveConnection(o), 'GET', `/v1/report?${new URLSearchParams({ since: o.since })}`);
      out.stdout(o.output === 'json' ? JSON.stringify(r, null, 2) : renderReport(r, o.output === 'markdown'));
    });

  connectionOptions(
    tasks
      .command('verify')
      .description('close pending tasks whose change is now in Git (backported) or undone (reverted); exit 1 while overdue tasks remain')
      .requiredOption('--desired <path>', 'rendered manifests from Git: kustomize build / helm template output (file, directory or -)')
      .option('--live <path>', 'live objects (kubectl get -o yaml): needed to resolve a task as reverted (Git keeping the old values is not enough)')
      .addOption(new Option('--live-from-cluster', "instead of --live: read each task's object from the cluster with the kubeconfig context (--kubeconfig, --context)").conflicts('live'))
      .option('--commit <sha>', 'the Git commit the manifests were rendered from (the evidence)')
      .addOption(new Option('--secret-hash-key <file>', "the installation's secret hash key, to compare Secret values (embedded: <data-dir>/keys/secret-hash.key)").env('DRIFTGATE_SECRET_HASH_KEY_FILE'))
      .option('--dry-run', 'show what would be resolved, change nothing'),
  ).action(async (o: Common & { desired: string; live?: string; liveFromCluster?: boolean; commit?: string; dryRun?: boolean; secretHashKey?: string }) => {
    const c = resolveConnection(o);
    const secretHashKey = o.secretHashKey ? readSecretHashKey(o.secretHashKey) : undefined;
    if (o.secretHashKey && !secretHashKey) throw new CliExit(2, `--secret-hash-key ${o.secretHashKey}: no such file`);
    const desired = requireObjects(readManifests(o.desired), 'desired', o.desired);
    const dump = o.live ? requireObjects(readManifests(o.live), 'live', o.live) : undefined;
    const { items } = await call<{ items: TaskView[] }>(c, 'GET', '/v1/tasks?state=pending');
    const full = await Promise.all(items.map((t) => call<Task>(c, 'GET', `/v1/tasks/${encodeURIComponent(t.id)}`)));
    let live = dump;
    if (o.liveFromCluster) {
      const kc = await loadKubeConfig({ ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}) });
      if (!kc) throw new CliExit(2, 'driftgate: --live-from-cluster needs a kubeconfig: --kubeconfig FILE, $KUBECONFIG or ~/.kube/config');
      live = await liveObjectsOf(kc, full);
    }
    const results = verifyTasks(full, { desired, ...(live ? { live } : {}), ...(secretHashKey ? { secretHashKey } : {}) });
    const evidence = o.commit ? `commit ${o.commit}` : `desired manifests ${o.desired}`;
    const resolved: string[] = [];
    for (const r of results) {
      if (o.dryRun) continue;
      await call(c, 'POST', `/v1/tasks/${encodeURIComponent(r.taskId)}/verifications`, { verdict: r.verdict, evidence, explanation: r.explanation });
      if (r.verdict !== 'pending') {
        await call(c, 'POST', `/v1/tasks/${encodeURIComponent(r.taskId)}/resolve`, { as: r.verdict, evidence: `verified against ${evidence}` });
        resolved.push(r.taskId);
      }
    }
    const overdue = (await call<{ items: TaskView[] }>(c, 'GET', '/v1/tasks?state=pending&overdue=true')).items.filter((t) => !resolved.includes(t.id));
    if (o.output === 'json') {
      out.stdout(JSON.stringify({ results, resolved, overdue: overdue.map((t) => t.id), dryRun: o.dryRun ?? false }, null, 2));
    } else {
      for (const r of results) {
        const verb = r.verdict === 'pending' ? 'still pending' : o.dryRun ? `would be ${r.verdict}` : r.verdict;
        out.stdout([`${r.taskId}: ${verb}`, ...r.explanation.map((l) => `    ${l}`)].join('\n'));
      }
      out.stdout(`${results.length} pending task(s) checked, ${resolved.length} resolved${o.dryRun ? ' (dry run)' : ''}, ${overdue.length} overdue`);
    }
    if (overdue.length > 0) throw new CliExit(1, `driftgate: ${overdue.length} overdue task(s) remain: ${overdue.map((t) => t.id).join(', ')}`);
  });

  connectionOptions(tasks.command('show').description('show one task as a readable diff').argument('<id>', 'task id', idArg('task'))).action(async (id: string, o: Common) => {
    const c = resolveConnection(o);
    const t = await call<Task>(c, 'GET', `/v1/tasks/${encodeURIComponent(id)}`);
    if (o.output === 'json') return out.stdout(JSON.stringify(t, null, 2));
    out.stdout(renderTask(t));
    const sync = await ownerSyncLine(c, t);
    if (sync) out.stdout(sync);
  });
  return tasks;
}
