/**
 * The console's pages, as functions from data to escaped HTML. No page needs JavaScript: reading is
 * links and tables, acting is a plain form POST that carries the session's CSRF token.
 */
import type { Grant } from '../grants/grant.ts';
import { showValue } from '../admission/redact.ts';
import type { Delivery } from '../notify/outbox.ts';
import type { GrantView } from '../service/break-glass.ts';
import type { TaskView } from '../tasks/rules.ts';
import type { Task, TaskChange } from '../tasks/task.ts';
import { formatDuration } from '../util/duration.ts';
import { columns, horizontalBars, type Row } from './charts.ts';
import { html, type Html } from './html.ts';

export interface PageContext {
  readonly user?: { readonly username: string; readonly groups: readonly string[]; readonly csrf: string };
  readonly dev: boolean;
  readonly now: Date;
}

const NAV: [string, string][] = [
  ['grants', 'Grants'],
  ['tasks', 'Tasks'],
  ['report', 'Report'],
  ['notifications', 'Notifications'],
];

export function layout(ctx: PageContext, title: string, current: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · driftgate</title><link rel="stylesheet" href="/ui/static/console.css"><link rel="icon" href="/ui/static/favicon.svg"></head>
<body><header><a class="brand" href="/ui/">driftgate</a>${
    ctx.user
      ? html`<nav>${NAV.map(([path, label]) => html`<a href="/ui/${path}"${path === current ? html` aria-current="page"` : ''}>${label}</a>`)}</nav>
<form class="who" method="post" action="/ui/logout"><span title="${ctx.user.groups.join(', ')}">${ctx.user.username}</span><input type="hidden" name="_csrf" value="${ctx.user.csrf}"><button>Log out</button></form>`
      : ''
  }</header>
${ctx.dev ? html`<p class="dev">Development issuer: anyone who can read its key file can be anyone. Configure auth.oidc or auth.tokenReview for real use.</p>` : ''}
<main><h1>${title}</h1>${body}</main></body></html>`;
}

const ago = (from: string, now: Date): string => formatDuration(now.getTime() - Date.parse(from));

function scope(g: Grant): Html {
  const res = g.resources.map((r) => `${r.group ? `${r.group}/` : ''}${r.kind}/${r.name}`).join(', ');
  return html`<code>${g.namespace}</code> ${res}${g.paths ? html`<br><small>paths: ${g.paths.join(', ')}</small>` : ''}<br><small>${g.operations.join(', ')}</small>`;
}

function actionForm(ctx: PageContext, action: string, label: string, cls: string, withReason: boolean): Html {
  return html`<form method="post" action="${action}" class="inline">
<input type="hidden" name="_csrf" value="${ctx.user?.csrf ?? ''}">${withReason ? html`<input name="reason" placeholder="reason (optional)" aria-label="${label} reason" maxlength="500">` : ''}<button class="${cls}">${label}</button></form>`;
}

function flash(message: string | undefined): Html {
  return message ? html`<p class="flash" role="status">${message}</p>` : html``;
}

export function loginPage(ctx: PageContext, loginCsrf: string, error?: string): Html {
  return layout(
    ctx,
    'Log in',
    '',
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/ui/login" class="login">
<input type="hidden" name="_csrf" value="${loginCsrf}">
<label for="token">Token</label>
<textarea id="token" name="token" rows="4" required autocomplete="off" spellcheck="false" placeholder="an OIDC ID token, a Kubernetes token, or: driftgate dev token --user you --groups sre-leads"></textarea>
<button>Log in</button></form>
<p class="hint">The same identities as the API: your OIDC ID token, a Kubernetes token (TokenReview), or with the embedded default a token from <code>driftgate dev token</code>. The token is checked once; the console then keeps a signed session for up to an hour.</p>`,
  );
}

/** How a grant ended: expired, revoked or denied (a deny is the revoke transition with reason "denied[: …]"), by whom and why. */
function howEnded(g: GrantView): Html {
  const denied = g.revokeReason !== undefined && /^denied(: |$)/.test(g.revokeReason);
  const why = denied ? g.revokeReason!.replace(/^denied(: )?/, '') : g.revokeReason;
  return html`${denied ? 'denied' : g.state}${g.revokedBy ? html`<br><small>by ${g.revokedBy}${why ? `: ${why}` : ''}</small>` : ''}`;
}

export function grantsPage(ctx: PageContext, grants: readonly GrantView[], required: (g: Grant) => number, message?: string): Html {
  const pending = grants.filter((g) => g.state === 'pending-approval');
  const active = grants.filter((g) => g.state === 'active');
  const ended = grants.filter((g) => g.state === 'expired' || g.state === 'revoked').slice(0, 50);
  const honour = (g: GrantView) => (g.honoured ? '' : html`<br><strong class="bad">not honoured: ${g.ignoredBecause ?? ''}</strong>`);
  return layout(
    ctx,
    'Break-glass grants',
    'grants',
    html`${flash(message)}
<h2>Waiting for approval <span class="count">${pending.length}</span></h2>${capped(pending.length)}
${
  pending.length === 0
    ? html`<p class="empty">No request is waiting.</p>`
    : html`<table><thead><tr><th>Grant</th><th>Requester</th><th>Scope</th><th>Reason</th><th>Incident</th><th>Waiting</th><th>Approvals</th><th>Decide</th></tr></thead><tbody>${pending.slice(0, MAX_ROWS).map(
        (g) =>
          html`<tr id="${g.id}"><td><code>${g.id}</code>${honour(g)}</td><td>${g.requester}</td><td>${scope(g)}</td><td class="reason">${g.reason}</td><td>${g.incident ?? '—'}</td><td>${ago(g.createdAt, ctx.now)}</td><td>${g.approvals.length} of ${required(g)}${g.approvals.map((a) => html`<br><small>${a.by}</small>`)}</td><td class="actions">${actionForm(ctx, `/ui/grants/${encodeURIComponent(g.id)}/approve`, 'Approve', 'approve', true)}${actionForm(ctx, `/ui/grants/${encodeURIComponent(g.id)}/deny`, 'Deny', 'deny', true)}${actionForm(ctx, `/ui/grants/${encodeURIComponent(g.id)}/revoke`, 'Revoke', 'revoke', false)}</td></tr>`,
      )}</tbody></table>`
}
<h2>Active <span class="count">${active.length}</span></h2>${capped(active.length)}
${
  active.length === 0
    ? html`<p class="empty">No grant is active.</p>`
    : html`<table><thead><tr><th>Grant</th><th>Requester</th><th>Subjects</th><th>Scope</th><th>Reason</th><th>Incident</th><th>Time left</th><th></th></tr></thead><tbody>${active.slice(0, MAX_ROWS).map(
        (g) =>
          html`<tr id="${g.id}"><td><code>${g.id}</code>${honour(g)}</td><td>${g.requester}</td><td>${[...g.subjects.users, ...g.subjects.groups.map((x) => `group ${x}`)].join(', ')}</td><td>${scope(g)}</td><td class="reason">${g.reason}</td><td>${g.incident ?? '—'}</td><td>${formatDuration(Date.parse(g.expiresAt) - ctx.now.getTime())}</td><td class="actions">${actionForm(ctx, `/ui/grants/${encodeURIComponent(g.id)}/revoke`, 'Revoke', 'revoke', true)}</td></tr>`,
      )}</tbody></table>`
}
<h2>Ended</h2>
${
  ended.length === 0
    ? html`<p class="empty">None yet.</p>`
    : html`<table><thead><tr><th>Grant</th><th>State</th><th>Requester</th><th>Scope</th><th>Reason</th><th>Incident</th><th>Ended</th></tr></thead><tbody>${ended.map(
        (g) =>
          html`<tr><td><code>${g.id}</code></td><td>${howEnded(g)}</td><td>${g.requester}</td><td>${scope(g)}</td><td class="reason">${g.reason}</td><td>${g.incident ?? '—'}</td><td>${(g.revokedAt ?? g.expiresAt).replace('T', ' ').slice(0, 16)}</td></tr>`,
      )}</tbody></table>`
}`,
  );
}

export interface TaskFilters {
  readonly state: string;
  readonly namespace: string;
  readonly owner: string;
  readonly writer: string;
  readonly incident: string;
}

export const TASK_STATE_FILTERS = ['pending', 'overdue', 'resolved', 'not-applied', 'all'] as const;

function stateBadge(t: { state: string; overdue: boolean }): Html {
  return html`<span class="state ${t.overdue ? 'overdue' : t.state}">${t.overdue ? 'overdue' : t.state}</span>`;
}

/** rows a list page shows at most; narrower filters find the rest */
export const MAX_ROWS = 500;

function capped(n: number): Html {
  return n > MAX_ROWS ? html`<p class="hint">Showing the first ${MAX_ROWS} of ${n}: narrow the list with the filters.</p>` : html``;
}

export function tasksPage(ctx: PageContext, tasks: readonly TaskView[], f: TaskFilters): Html {
  const field = (name: keyof TaskFilters, label: string) => html`<label>${label} <input name="${name}" value="${f[name]}"></label>`;
  return layout(
    ctx,
    'Bypass tasks',
    'tasks',
    html`<form method="get" action="/ui/tasks" class="filters">
<label>State <select name="state">${TASK_STATE_FILTERS.map((s) => html`<option${s === f.state ? html` selected` : ''}>${s}</option>`)}</select></label>
${field('namespace', 'Namespace')}${field('owner', 'Owner')}${field('writer', 'Writer')}${field('incident', 'Incident')}<button>Filter</button></form>
<p class="count">${tasks.length} task(s)</p>${capped(tasks.length)}
${
  tasks.length === 0
    ? html`<p class="empty">No task matches.</p>`
    : html`<table><thead><tr><th>Task</th><th>State</th><th>Object</th><th>Owner</th><th>Writer</th><th>Grant</th><th>Incident</th><th>Recorded</th></tr></thead><tbody>${tasks.slice(0, MAX_ROWS).map(
        (t) =>
          html`<tr><td><a href="/ui/tasks/${encodeURIComponent(t.id)}">${t.id}</a></td><td>${stateBadge(t)}</td><td>${t.kind} <code>${t.namespace}/${t.name}</code></td><td>${t.owner}</td><td>${t.writer}</td><td><code>${t.grantId}</code></td><td>${t.incident ?? '—'}</td><td>${ago(t.recordedAt, ctx.now)} ago</td></tr>`,
      )}</tbody></table>`
}`,
  );
}

/** A value as lines for the diff (multi-line text and objects one line per line). */
function lines(v: unknown): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string' && v.includes('\n')) return v.split('\n');
  const text = typeof v === 'object' && v !== null ? JSON.stringify(v, null, 2) : showValue(v, 4000);
  return text.split('\n');
}

function change(c: TaskChange): Html {
  const before = lines(c.before);
  const after = lines(c.after);
  const note = c.declaredInGit === true ? 'declared in Git' : c.declaredInGit === false ? 'not declared in Git (a new field)' : '';
  return html`<section class="change"><h3><code>${c.path}</code> ${note ? html`<small>${note}</small>` : ''}</h3>
<pre class="diff">${before.length === 0 ? html`<span class="none">(absent)</span>\n` : ''}${before.map((l) => html`<span class="del">- ${l}</span>\n`)}${after.length === 0 ? html`<span class="none">(removed)</span>\n` : ''}${after.map((l) => html`<span class="add">+ ${l}</span>\n`)}</pre></section>`;
}

export function taskPage(ctx: PageContext, t: Task & { overdue: boolean }, grant: GrantView | undefined, resolvedStates: readonly string[], message?: string): Html {
  return layout(
    ctx,
    `Task ${t.id}`,
    'tasks',
    html`${flash(message)}
<dl class="facts"><dt>State</dt><dd>${stateBadge(t)}</dd>
<dt>Object</dt><dd>${t.object.apiVersion} ${t.object.kind} <code>${t.object.namespace}/${t.object.name}</code></dd>
<dt>Operation</dt><dd>${t.operation}</dd>
<dt>Writer</dt><dd>${t.writer.username} <small>${t.writer.groups.join(', ')}</small></dd>
<dt>Owner</dt><dd>${t.owner}</dd>
<dt>Incident</dt><dd>${t.incident ?? '—'}</dd>
<dt>Recorded</dt><dd>${t.recordedAt} (${ago(t.recordedAt, ctx.now)} ago)</dd>
${t.resolution ? html`<dt>Resolved</dt><dd>${t.state} by ${t.resolution.by} at ${t.resolution.at}: <span class="evidence">${t.resolution.evidence}</span></dd>` : ''}</dl>
<h2>The change</h2><p class="hint">Revert it in the cluster, or put it into Git (backport).</p>
${t.changes.map(change)}
<h2>The grant</h2>
${
  grant
    ? html`<dl class="facts"><dt>Grant</dt><dd><code>${grant.id}</code> (${grant.state})</dd><dt>Requester</dt><dd>${grant.requester}</dd><dt>Scope</dt><dd>${scope(grant)}</dd><dt>Reason</dt><dd class="reason">${grant.reason}</dd><dt>Approvals</dt><dd>${grant.approvals.length === 0 ? 'none' : grant.approvals.map((a) => html`${a.by} at ${a.at} `)}</dd><dt>Expires</dt><dd>${grant.expiresAt}</dd></dl>`
    : html`<p class="empty">Grant <code>${t.grantId}</code> is not in the store.</p>`
}
<h2>Verification history</h2>
${
  (t.verifications ?? []).length === 0
    ? html`<p class="empty">Not verified yet (<code>driftgate tasks verify --desired DIR</code>).</p>`
    : html`<table><thead><tr><th>At</th><th>By</th><th>Against</th><th>Verdict</th><th>Why</th></tr></thead><tbody>${(t.verifications ?? []).map(
        (v) => html`<tr><td>${v.at}</td><td>${v.by}</td><td>${v.evidence}</td><td>${v.verdict}</td><td>${v.explanation.map((l) => html`${l}<br>`)}</td></tr>`,
      )}</tbody></table>`
}
${
  t.state === 'pending'
    ? html`<h2>Resolve</h2><form method="post" action="/ui/tasks/${encodeURIComponent(t.id)}/resolve" class="resolve">
<input type="hidden" name="_csrf" value="${ctx.user?.csrf ?? ''}">
<label>As <select name="as">${resolvedStates.map((s) => html`<option>${s}</option>`)}</select></label>
<label>Evidence <input name="evidence" required maxlength="2000" placeholder="a commit, a PR URL, or why the exception is accepted"></label>
<button>Resolve</button></form>`
    : ''
}`,
  );
}

export interface ReportPictures {
  readonly sinceLabel: string;
  readonly byNamespace: readonly Row[];
  readonly byOwner: readonly Row[];
  readonly perDay: readonly Row[];
  readonly resolution: readonly Row[];
  readonly totals: { readonly pending: number; readonly overdue: number; readonly resolved: number };
}

export function reportPage(ctx: PageContext, r: ReportPictures, windows: readonly string[]): Html {
  return layout(
    ctx,
    'Report',
    'report',
    html`<form method="get" action="/ui/report" class="filters"><label>Window <select name="since">${windows.map((w) => html`<option${w === r.sinceLabel ? html` selected` : ''}>${w}</option>`)}</select></label><button>Show</button></form>
<p class="totals"><strong>${r.totals.pending}</strong> open · <strong class="${r.totals.overdue > 0 ? 'bad' : ''}">${r.totals.overdue}</strong> overdue · <strong>${r.totals.resolved}</strong> resolved in the last ${r.sinceLabel}</p>
<div class="charts">
${horizontalBars({ title: 'Open and overdue tasks by namespace', series: ['open', 'overdue'], rows: r.byNamespace })}
${horizontalBars({ title: 'Open and overdue tasks by owner', series: ['open', 'overdue'], rows: r.byOwner })}
${columns({ title: `Bypasses per day (last ${r.perDay.length} days)`, series: ['bypasses'], rows: r.perDay })}
${columns({ title: `Time to resolution (tasks resolved in the last ${r.sinceLabel})`, series: ['tasks'], rows: r.resolution })}
</div>`,
  );
}

export function notificationsPage(ctx: PageContext, status: { pending: readonly Delivery[]; dead: readonly Delivery[] } | undefined, sinks: readonly string[], message?: string): Html {
  if (!status) return layout(ctx, 'Notifications', 'notifications', html`<p class="empty">Notifications are not running on this server.</p>`);
  const row = (d: Delivery, retry: boolean) =>
    html`<tr><td>${d.event.type}</td><td>${d.event.summary}</td><td>${d.sink}</td><td>${d.attempts}</td><td>${d.lastError ?? '—'}</td><td>${d.lastAttemptAt ?? '—'}</td>${
      retry
        ? html`<td><form method="post" action="/ui/notifications/retry" class="inline"><input type="hidden" name="_csrf" value="${ctx.user?.csrf ?? ''}"><input type="hidden" name="key" value="${d.event.key}"><input type="hidden" name="sink" value="${d.sink}"><button>Retry</button></form></td>`
        : html`<td>next ${d.nextAt <= ctx.now.getTime() ? 'now' : `in ${formatDuration(d.nextAt - ctx.now.getTime())}`}</td>`
    }</tr>`;
  const head = html`<thead><tr><th>Event</th><th>Summary</th><th>Sink</th><th>Attempts</th><th>Last error</th><th>Last attempt</th><th></th></tr></thead>`;
  return layout(
    ctx,
    'Notifications',
    'notifications',
    html`${flash(message)}<p>Sinks: ${sinks.length === 0 ? html`none configured (policy key <code>notifications.sinks</code>)` : sinks.join(', ')}</p>
<h2>Dead letters <span class="count">${status.dead.length}</span></h2>
${status.dead.length === 0 ? html`<p class="empty">None: every notification was delivered or is still being tried.</p>` : html`<table>${head}<tbody>${status.dead.map((d) => row(d, true))}</tbody></table>`}
<h2>Waiting for delivery <span class="count">${status.pending.length}</span></h2>
${status.pending.length === 0 ? html`<p class="empty">Nothing waiting.</p>` : html`<table>${head}<tbody>${status.pending.slice(0, 200).map((d) => row(d, false))}</tbody></table>`}`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string, back: string): Html {
  return layout(ctx, status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'That did not work', '', html`<p class="error" role="alert">${message}</p><p><a href="${back}">Back</a></p>`);
}
