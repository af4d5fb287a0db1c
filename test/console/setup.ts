/** A console app over a real embedded store, with the dev issuer; helpers to log in and post forms. */
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { devAuthenticator, issueDevToken } from '../../src/auth/authenticator.ts';
import { createLogger } from '../../src/log.ts';
import type { Notifier } from '../../src/notify/notifier.ts';
import type { Policy } from '../../src/policy/policy.ts';
import { BreakGlassService, type GrantEventType } from '../../src/service/break-glass.ts';
import { storeFixture } from '../helpers/breakglass.ts';
import { NOW, policyFrom } from '../helpers/deps.ts';

export const APPROVAL_POLICY = `
protectedNamespaces: [prod]
breakGlass: {requireIncident: true, requesters: {groups: [oncall]}, approval: {required: 1, approvers: {groups: [sre-leads]}}}
`;

export const XSS_REASON = `<script>alert(1)</script> "><img src=x onerror=alert(2)> 'quoted' & more`;

export async function consoleSetup(policy: Policy = policyFrom(APPROVAL_POLICY), notifier?: Notifier) {
  const f = await storeFixture();
  const clock = { now: () => f.now.value };
  const authenticator = await devAuthenticator(f.dir, () => f.now.value);
  const events: { type: GrantEventType; grant: string; actor: string }[] = [];
  const onGrantEvent = async (type: GrantEventType, g: { id: string }, actor: string) => {
    events.push({ type, grant: g.id, actor });
  };
  const service = new BreakGlassService({ store: f.store, policy: () => policy, clock, onGrantEvent });
  const app = buildApp({
    review: { policy: () => policy, clock, grants: f.store, tasks: f.store, cluster: undefined, logger: createLogger('silent') },
    readiness: { notReady: () => [] },
    api: { store: f.store, policy: () => policy, clock, authenticator, onGrantEvent },
    console: { service, authenticator, policy: () => policy, clock, keys: f.keys, ...(notifier ? { notifier } : {}) },
  });
  const token = (user: string, groups: readonly string[]) => issueDevToken(f.dir, user, groups, 3600, NOW);

  /** Logs in through the form; returns the Cookie header and the session's CSRF token. */
  const login = async (user: string, groups: readonly string[]) => {
    const form = await request(app).get('/ui/login');
    const loginCookie = cookieOf(form.headers['set-cookie'], '__Host-driftgate-login');
    const res = await request(app)
      .post('/ui/login')
      .set('cookie', `__Host-driftgate-login=${loginCookie}`)
      .type('form')
      .send({ _csrf: csrfOf(form.text), token: await token(user, groups) });
    if (res.status !== 303) throw new Error(`login failed: ${res.status} ${res.text}`);
    const cookie = `__Host-driftgate-session=${cookieOf(res.headers['set-cookie'], '__Host-driftgate-session')}`;
    const page = await request(app).get('/ui/grants').set('cookie', cookie);
    return { cookie, csrf: csrfOf(page.text), setCookie: res.headers['set-cookie'] as unknown as string[] };
  };
  return { f, app, service, events, token, login, policy };
}

export function cookieOf(setCookie: unknown, name: string): string {
  const all = (Array.isArray(setCookie) ? setCookie : [setCookie]) as string[];
  const line = all.find((c) => c.startsWith(`${name}=`));
  if (!line) throw new Error(`no ${name} cookie in ${JSON.stringify(all)}`);
  return line.slice(name.length + 1).split(';')[0]!;
}

export function csrfOf(page: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error('no CSRF field on the page');
  return m[1]!;
}
