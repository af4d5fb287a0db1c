import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../../src/log.ts';
import { grantEvent, type Notification } from '../../src/notify/events.ts';
import { backoffMs, Notifier } from '../../src/notify/notifier.ts';
import { leaderTurn } from '../../src/console/people-loop.ts';
import type { Policy } from '../../src/policy/policy.ts';
import { ConfigError } from '../../src/errors.ts';
import { requestGrant, storeFixture, taskDraft } from '../helpers/breakglass.ts';
import { LogSink, NOW, policyFrom } from '../helpers/deps.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Receiver, until } from './receiver.ts';

const SECRET = 'not-a-real-secret-7f3a';

function policyWith(sinks: string, extra = ''): Policy {
  return policyFrom(`
breakGlass: {approval: {required: 1, approvers: {groups: [sre-leads]}}}
notifications:
  initialBackoff: 20ms
  maxBackoff: 80ms
  sweepInterval: 1h
${extra}
  sinks:
${sinks}
`);
}

function webhookSink(r: Receiver, secretFile: string, events = ''): string {
  return `    - {name: hooks, type: webhook, url: "${r.url()}", secretFile: "${secretFile}"${events}}`;
}

function fact(i: number): Notification {
  return { key: `test.fact:${i}`, type: 'drift.found', at: NOW.toISOString(), summary: `fact ${i}`, data: { i } };
}

/** `frozen`: the notifier reads the store fixture's clock (tests move it); otherwise the real clock. */
async function setup(policy: (secretFile: string, r: Receiver) => Policy, frozen = false) {
  const dir = tempDir('driftgate-notify-');
  const receiver = await Receiver.start();
  const secretFile = join(dir, 'hook-secret');
  writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const p = policy(secretFile, receiver);
  const f = await storeFixture(dir);
  const sink = new LogSink();
  const registry = new Registry();
  const now = frozen ? { now: () => f.now.value } : {};
  const open = async () => {
    const n = await Notifier.open({ dataDir: dir, policy: () => p, store: f.store, logger: createLogger('debug', sink.stream), registry: new Registry(), ...now });
    n.start();
    return n;
  };
  const notifier = await Notifier.open({ dataDir: dir, policy: () => p, store: f.store, logger: createLogger('debug', sink.stream), registry, ...now });
  notifier.start();
  after(async () => {
    await receiver.close();
    await f.store.close();
  });
  return { receiver, notifier, open, f, sink, registry, policy: p, dir };
}

describe('notifications: the outbox', () => {
  it('delivers every event exactly once across a restart while the receiver was down', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)));
    s.receiver.status = 503; // the receiver is down
    for (let i = 0; i < 6; i += 1) await s.notifier.emit(fact(i));
    await until(() => s.receiver.deliveries.length >= 12, 'every event attempted twice against the down receiver');
    await s.notifier.close();
    const failedBefore = s.receiver.deliveries.length;
    assert.equal(s.receiver.accepted().size, 0);

    s.receiver.status = 200; // back up; driftgate restarts
    const second = await s.open();
    await until(() => s.receiver.accepted().size === 6 && second.status().pending.length === 0, 'all six delivered after the restart');
    await second.close();
    const third = await s.open(); // and once more: nothing is sent again
    await third.sweep();
    await third.close();

    const accepted = s.receiver.accepted();
    assert.deepEqual([...accepted.keys()].sort(), [0, 1, 2, 3, 4, 5].map((i) => `test.fact:${i}`));
    for (const [key, count] of accepted) assert.equal(count, 1, `${key} accepted ${count} times`);
    assert.equal(s.receiver.deliveries.filter((d) => d.status === 200).length, 6, 'raw 2xx deliveries: one per event');
    assert.ok(failedBefore >= 12);
  });

  it('records a fact once: emitting the same key again sends nothing', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)));
    await Promise.all([s.notifier.emit(fact(1)), s.notifier.emit(fact(1))]);
    await s.notifier.emit(fact(1));
    await until(() => s.notifier.status().pending.length === 0, 'delivered');
    await s.notifier.close();
    assert.equal(s.receiver.deliveries.length, 1);
  });

  it('signs a webhook with HMAC-SHA256 over "<timestamp>.<body>" and never logs the secret', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)));
    s.receiver.status = 500;
    await s.notifier.emit(fact(7));
    await until(() => s.receiver.deliveries.length >= 2, 'a failed attempt and a retry');
    s.receiver.status = 200;
    await until(() => s.notifier.status().pending.length === 0, 'delivered');
    await s.notifier.close();
    for (const d of s.receiver.deliveries) {
      const ts = d.headers['x-driftgate-timestamp'] as string;
      assert.match(ts, /^\d+$/);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${d.body}`).digest('hex')}`;
      assert.equal(d.headers['x-driftgate-signature'], expected);
      assert.equal(d.headers['x-driftgate-event'], 'drift.found');
      const body = JSON.parse(d.body) as { id: string; type: string; data: { i: number } };
      assert.equal(body.id, 'test.fact:7');
      assert.equal(body.data.i, 7);
    }
    assert.match(s.sink.text, /notification delivery failed; will retry/);
    assert.ok(!s.sink.text.includes(SECRET), 'the secret is never logged');
  });

  it('gives up after maxAttempts: a dead letter in the metrics, retried on request', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file), '  maxAttempts: 3'));
    s.receiver.status = 500;
    await s.notifier.emit(fact(9));
    await until(() => s.notifier.status().dead.length === 1, 'a dead letter');
    assert.equal(s.receiver.deliveries.length, 3);
    const metrics = await s.registry.metrics();
    assert.match(metrics, /driftgate_notifications_total\{sink="hooks",result="failed"\} 2/);
    assert.match(metrics, /driftgate_notifications_total\{sink="hooks",result="dead"\} 1/);
    assert.match(metrics, /driftgate_notifications_dead_letters 1/);
    assert.equal(s.notifier.status().dead[0]!.lastError, 'HTTP 500');

    s.receiver.status = 200;
    assert.equal(await s.notifier.retry('test.fact:9', 'hooks', 'bob'), true);
    await until(() => s.receiver.accepted().size === 1, 'delivered after the retry');
    await until(() => s.notifier.status().dead.length === 0 && s.notifier.status().pending.length === 0, 'nothing left');
    assert.match(await s.registry.metrics(), /driftgate_notifications_dead_letters 0/);
    await s.notifier.close();
  });

  it('keeps a dead letter dead across a restart', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file), '  maxAttempts: 1'));
    s.receiver.status = 404;
    await s.notifier.emit(fact(3));
    await until(() => s.notifier.status().dead.length === 1, 'a dead letter');
    await s.notifier.close();
    const again = await s.open();
    assert.equal(again.status().dead.length, 1);
    assert.equal(again.status().pending.length, 0);
    await again.close();
    assert.equal(s.receiver.deliveries.length, 1);
  });

  it('posts {text} to a Slack-compatible webhook whose URL comes from a file', async () => {
    const s = await setup((_file, r) => {
      const urlFile = join(tempDir(), 'slack-url');
      writeFileSync(urlFile, r.url('/services/T000/B000/XXXX'));
      return policyWith(`    - {name: slack, type: slack, urlFile: "${urlFile}", events: [grant.requested]}`);
    });
    const grant = await requestGrant(s.f, { reason: 'OOM <script>' }, undefined, s.policy);
    await s.notifier.onGrantEvent('grant.requested', grant, 'alice');
    await s.notifier.emit(fact(1)); // not an event this sink wants
    await until(() => s.notifier.status().pending.length === 0 && s.receiver.deliveries.length === 1, 'delivered');
    await s.notifier.close();
    const d = s.receiver.deliveries[0]!;
    assert.equal(d.path, '/services/T000/B000/XXXX');
    assert.deepEqual(Object.keys(JSON.parse(d.body) as object), ['text']);
    assert.match((JSON.parse(d.body) as { text: string }).text, /Break-glass grant g-test requested by alice: prod apps\/Deployment\/api \(incident INC-7\) — waiting for approval by group sre-leads$/);
  });

  it('tells the approvers who they are on grant.requested', () => {
    const p = policyFrom('breakGlass: {approval: {required: 2, approvers: {users: [carol], groups: [sre-leads]}}}');
    return storeFixture().then(async (f) => {
      const g = await requestGrant(f, {}, undefined, p);
      const n = grantEvent('grant.requested', g, 'alice', NOW, p);
      assert.deepEqual(n.data.approvers, { users: ['carol'], groups: ['sre-leads'] });
      assert.equal(n.data.approvalsRequired, 2);
      assert.equal(n.key, 'grant.requested:g-test:alice');
    });
  });

  it('backs off exponentially up to maxBackoff', () => {
    const n = policyFrom('notifications: {initialBackoff: 5s, maxBackoff: 1m}').notifications;
    assert.deepEqual([1, 2, 3, 4, 5, 6, 40].map((a) => backoffMs(a, n)), [5000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000]);
  });
});

describe('notifications: the outbox file', () => {
  it('survives a crash in the middle of a write: the torn line is cut, everything before it delivered', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)));
    s.receiver.status = 503;
    await s.notifier.emit(fact(1));
    await s.notifier.emit(fact(2));
    await s.notifier.close();
    appendFileSync(join(s.dir, 'outbox.jsonl'), '{"t":"event","event":{"key":"torn'); // kill -9 mid-write
    s.receiver.status = 200;
    const again = await s.open();
    await until(() => again.status().pending.length === 0 && s.receiver.accepted().size === 2, 'both delivered after the restart');
    await again.close();
    assert.deepEqual([...s.receiver.accepted().keys()].sort(), ['test.fact:1', 'test.fact:2']);
    assert.match(s.sink.text, /incomplete last line \(crash during a write\) cut off/);
    assert.ok(readFileSync(join(s.dir, 'outbox.jsonl'), 'utf8').endsWith('\n'));
  });

  it('reports the same drift once, and drift on new paths again', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)));
    const finding = { namespace: 'prod', kind: 'Deployment', name: 'api', owner: 'argocd/payments', paths: ['spec.replicas', 'metadata.labels.tier'] };
    await s.notifier.driftFound(finding);
    await s.notifier.driftFound({ ...finding, paths: ['metadata.labels.tier', 'spec.replicas'] });
    await s.notifier.driftFound({ ...finding, paths: ['spec.replicas'] });
    await until(() => s.notifier.status().pending.length === 0 && s.receiver.deliveries.length === 2, 'two findings delivered');
    await s.notifier.close();
    const bodies = s.receiver.deliveries.map((d) => JSON.parse(d.body) as { type: string; summary: string });
    assert.deepEqual(bodies.map((b) => b.type), ['drift.found', 'drift.found']);
    assert.match(bodies[0]!.summary, /^Unrecorded drift on Deployment prod\/api \(owner argocd\/payments\): spec\.replicas, metadata\.labels\.tier$/);
  });
});

describe('notifications: facts nobody reports', () => {
  it('finds an expired grant, its first use and an overdue task once, across sweeps and a restart', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)), true);
    const grant = await requestGrant(s.f, { ttl: '30m' }, undefined, policyFrom('{}'), 'g-1');
    const recorder = s.notifier.recorder(s.f.store);
    const t1 = await recorder.recordBypass(taskDraft('uid-1'));
    const t2 = await recorder.recordBypass(taskDraft('uid-2'));
    await until(() => s.receiver.accepted().size === 1, 'first use delivered');
    s.f.now.value = new Date(NOW.getTime() + 30 * 60_000 + 73 * 3600_000); // past expiry + backportDeadline
    await s.notifier.sweep();
    await s.notifier.sweep();
    await until(() => s.notifier.status().pending.length === 0 && s.receiver.accepted().size === 4, 'expiry and two overdue tasks delivered');
    await s.notifier.close();
    const again = await s.open();
    await again.sweep();
    await again.close();
    const keys = [...s.receiver.accepted().entries()].map(([k, c]) => `${k}×${c}`);
    assert.deepEqual(keys.sort(), [`grant.expired:${grant.id}×1`, `grant.first-used:${grant.id}×1`, `task.overdue:${t1.id}×1`, `task.overdue:${t2.id}×1`].sort());
  });

  it('reports only facts from the time its turn began (several replicas taking turns)', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)), true);
    const grant = await requestGrant(s.f, { ttl: '30m' }, undefined, policyFrom('{}'), 'g-1');
    s.f.now.value = new Date(NOW.getTime() + 40 * 60_000); // expired 10 minutes ago
    await s.notifier.sweep(new Date(NOW.getTime() + 35 * 60_000)); // this replica's turn began after the expiry
    assert.deepEqual(s.notifier.status().pending, []);
    await s.notifier.sweep(new Date(NOW.getTime() + 20 * 60_000)); // ... or before it
    await until(() => s.receiver.accepted().size === 1, 'expiry delivered');
    await s.notifier.close();
    assert.deepEqual([...s.receiver.accepted().keys()], [`grant.expired:${grant.id}`]);
  });

  it('sweeps only while this replica holds the leader lease, from a lease duration and a sweep interval before it took over', async () => {
    const dir = tempDir('driftgate-notify-turn-');
    const f = await storeFixture(dir);
    const p = policyFrom('{}');
    const notifier = await Notifier.open({ dataDir: dir, policy: () => p, store: f.store, logger: createLogger('silent'), registry: new Registry() });
    const swept: (Date | undefined)[] = [];
    const firstUses: (boolean | undefined)[] = [];
    notifier.sweep = async (from?: Date, o: { firstUses?: boolean } = {}) => {
      swept.push(from);
      firstUses.push(o.firstUses);
    };
    const lease: { since?: Date } = {};
    const turn = leaderTurn({ leadingSince: () => lease.since, leaseDurationMs: 15_000 }, () => p);
    notifier.start({ sweep: turn });
    assert.deepEqual(swept, [], 'another replica leads: no sweep');
    lease.since = new Date(NOW.getTime() + 3600_000);
    assert.deepEqual(turn(), new Date(NOW.getTime() + 3600_000 - 15_000 - p.notifications.sweepIntervalMs));
    notifier.start({ sweep: turn });
    assert.deepEqual(swept, [turn()]);
    assert.deepEqual(firstUses, [false], 'first uses are sent by the replica that recorded the bypass, not swept again');
    await notifier.close();
    await f.store.close();
  });

  it('leaves first uses to the recording replica when told to (several replicas): expiries are still swept', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)), true);
    const grant = await requestGrant(s.f, { ttl: '30m' }, undefined, policyFrom('{}'), 'g-1');
    await s.f.store.recordBypass(taskDraft('uid-1')); // recorded by another replica: not through this notifier
    s.f.now.value = new Date(NOW.getTime() + 40 * 60_000);
    await s.notifier.sweep(NOW, { firstUses: false });
    await until(() => s.notifier.status().pending.length === 0 && s.receiver.accepted().size === 1, 'expiry delivered');
    await s.notifier.close();
    assert.deepEqual([...s.receiver.accepted().keys()], [`grant.expired:${grant.id}`]);
  });

  it('does not announce what happened before the outbox existed', async () => {
    const s = await setup((file, r) => policyWith(webhookSink(r, file)), true);
    s.f.now.value = new Date(NOW.getTime() - 200 * 3600_000); // a grant and a bypass long ago
    await requestGrant(s.f, { ttl: '30m' }, undefined, policyFrom('{}'), 'g-1');
    await s.f.store.recordBypass({ ...taskDraft('uid-1'), recordedAt: s.f.now.value.toISOString() });
    s.f.now.value = NOW;
    await s.notifier.sweep();
    await s.notifier.close();
    assert.deepEqual(s.notifier.status().pending, []);
    assert.equal(s.receiver.deliveries.length, 0);
  });
});

describe('notifications: policy', () => {
  const cases: [string, string, RegExp][] = [
    ['a Slack URL in the policy', '[{name: s, type: slack, url: "https://hooks.slack.com/services/x"}]', /contains its token; put it in urlFile or urlEnv/],
    ['a webhook without a secret', '[{name: w, type: webhook, url: "https://example.com/h"}]', /a webhook is signed: set exactly one of secretFile, secretEnv/],
    ['two URLs', '[{name: w, type: webhook, url: "https://example.com/h", urlEnv: X, secretEnv: S}]', /set exactly one of url, urlFile, urlEnv/],
    ['duplicate sink names', '[{name: w, type: slack, urlEnv: A}, {name: w, type: slack, urlEnv: B}]', /sink names must be unique/],
    ['an unknown event', '[{name: w, type: slack, urlEnv: A, events: [grant.eaten]}]', /notifications\.sinks\[0\]\.events\[0\]/],
    ['a non-HTTP URL', '[{name: w, type: webhook, url: "file:///etc/passwd", secretEnv: S}]', /notifications\.sinks\[0\]\.url/],
  ];
  for (const [what, sinks, message] of cases) {
    it(`refuses ${what}`, () => {
      assert.throws(() => policyFrom(`notifications: {sinks: ${sinks}}`), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }

  it('defaults: no sinks, 12 attempts, 5s doubling to 15m, a sweep every 30s', () => {
    const n = policyFrom('{}').notifications;
    assert.deepEqual({ ...n, sinks: [...n.sinks] }, { sinks: [], maxAttempts: 12, initialBackoffMs: 5000, maxBackoffMs: 900_000, sweepIntervalMs: 30_000 });
  });
});
