import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderLease, NOTIFICATION_LEASE } from '../../src/cluster/leader-lease.ts';
import { createLogger } from '../../src/log.ts';
import { FakeApiServer } from './fake-apiserver.ts';
import { kubeConfigFor } from './kubeconfig.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');

/** A replica's two clocks: the wall clock (written into the Lease) and the monotonic one its deadlines run on. */
interface Clocks {
  wall: number;
  mono: number;
}
/** Time passing: both clocks move (a step of the wall clock alone is `wall +=`). */
function advance(c: Clocks, ms: number): void {
  c.wall += ms;
  c.mono += ms;
}
const clocked = (c: Clocks) => ({ now: () => new Date(c.wall), monotonic: () => c.mono });

describe('the notification-sweep leader lease', () => {
  let api: FakeApiServer;
  let server: string;
  let n = 0;

  before(async () => {
    api = new FakeApiServer();
    server = await api.start();
  });
  after(() => api.stop());

  const spec = (name: string) => (api.get('leases', 'driftgate', name)?.spec ?? {}) as Record<string, unknown>;

  /** Two replicas with clocks of their own, on a Lease of their own (one per test). */
  function replicas(): { a: LeaderLease; b: LeaderLease; clock: { a: Clocks; b: Clocks }; name: string } {
    const name = `lease-${(n += 1)}`;
    const clock = { a: { wall: T0, mono: 1_000 }, b: { wall: T0, mono: 5_000 } };
    const make = (who: 'a' | 'b') =>
      new LeaderLease({ kubeConfig: kubeConfigFor(server), namespace: 'driftgate', name, identity: `replica-${who}`, logger: createLogger('silent'), ...clocked(clock[who]) });
    return { a: make('a'), b: make('b'), clock, name };
  }

  it('is taken by the first replica to try; the second follows', async () => {
    const { a, b, name } = replicas();
    await a.tryOnce();
    await b.tryOnce();
    assert.deepEqual(a.leadingSince(), new Date(T0));
    assert.equal(b.leadingSince(), undefined);
    assert.equal(spec(name).holderIdentity, 'replica-a');
    assert.equal(spec(name).leaseDurationSeconds, 15);
    assert.equal(spec(name).leaseTransitions, 0);
  });

  it('stays with a holder that renews, however long the others wait', async () => {
    const { a, b, clock } = replicas();
    await a.tryOnce();
    for (let i = 0; i < 10; i += 1) {
      advance(clock.a, 2000);
      advance(clock.b, 2000);
      await a.tryOnce();
      await b.tryOnce();
    }
    assert.deepEqual(a.leadingSince(), new Date(T0));
    assert.equal(b.leadingSince(), undefined);
  });

  it('passes to a follower once the holder has not renewed for the lease duration, timed on the follower’s own clock', async () => {
    const { a, b, clock, name } = replicas();
    await a.tryOnce();
    clock.b.wall += 3_600_000; // b's clock is an hour ahead: the renewTime a wrote looks stale to it, but b never saw the Lease change
    await b.tryOnce();
    assert.equal(b.leadingSince(), undefined, 'b first waits a lease duration from when it saw the Lease');
    advance(clock.b, 14_000);
    await b.tryOnce();
    assert.equal(b.leadingSince(), undefined, '14 s without a renewal: not yet');
    advance(clock.b, 2_000);
    await b.tryOnce();
    assert.deepEqual(b.leadingSince(), new Date(clock.b.wall));
    assert.equal(spec(name).holderIdentity, 'replica-b');
    assert.equal(spec(name).leaseTransitions, 1);
    advance(clock.a, 16_000); // a comes back: it sees b's Lease and steps down
    await a.tryOnce();
    assert.equal(a.leadingSince(), undefined);
  });

  it('gives the Lease to one replica when two create it or take it over at once (409 for the other)', async () => {
    const { a, b, clock } = replicas();
    await Promise.all([a.tryOnce(), b.tryOnce()]); // both create: one gets 409 AlreadyExists
    const first = [a, b].filter((r) => r.leadingSince());
    assert.equal(first.length, 1);
    const silent = first[0]!;
    const c = silent === a ? b : a;
    const d = new LeaderLease({ kubeConfig: kubeConfigFor(server), namespace: 'driftgate', name: `lease-${n}`, identity: 'replica-d', logger: createLogger('silent'), ...clocked(clock.b) });
    await Promise.all([c.tryOnce(), d.tryOnce()]); // both see the holder's Lease
    advance(clock.a, 16_000);
    advance(clock.b, 16_000);
    await Promise.all([c.tryOnce(), d.tryOnce()]); // both replace the same version: one gets 409 Conflict
    assert.equal([c, d].filter((r) => r.leadingSince()).length, 1);
  });

  it('steps down when it cannot renew for the renew deadline, before anyone else may take over', async () => {
    const { a, clock } = replicas();
    await a.tryOnce();
    api.unavailable = true;
    try {
      advance(clock.a, 8_000);
      await a.tryOnce();
      assert.deepEqual(a.leadingSince(), new Date(T0), '8 s without a renewal: still leading');
      advance(clock.a, 3_000);
      assert.equal(a.leadingSince(), undefined, '11 s: past the 10 s renew deadline, and before the 15 s lease duration');
    } finally {
      api.unavailable = false;
    }
    await a.tryOnce();
    assert.deepEqual(a.leadingSince(), new Date(clock.a.wall), 'its own Lease again once the API answers');
  });

  for (const [step, way] of [[-60_000, 'back'], [60_000, 'forward'], [-3_600_000, 'back an hour']] as const) {
    it(`neither extends nor shortens the renew deadline when the holder’s wall clock steps ${way} while it cannot renew`, async () => {
      const { a, clock, name } = replicas();
      await a.tryOnce();
      api.unavailable = true;
      try {
        clock.a.wall += step; // an NTP step on a's machine: its monotonic clock does not move
        advance(clock.a, 8_000);
        await a.tryOnce();
        assert.deepEqual(a.leadingSince(), new Date(T0), '8 s without a renewal: still leading');
        advance(clock.a, 3_000);
        await a.tryOnce();
        assert.equal(a.leadingSince(), undefined, '11 s: past the renew deadline');
      } finally {
        api.unavailable = false;
      }
      await a.tryOnce();
      assert.deepEqual(a.leadingSince(), new Date(clock.a.wall), 'leads again from its next renewal');
      assert.equal(new Date(spec(name).renewTime as string).getTime(), clock.a.wall, 'the Lease says when on the wall clock');
    });

    it(`neither hastens nor delays a follower’s takeover when its wall clock steps ${way}`, async () => {
      const { a, b, clock, name } = replicas();
      await a.tryOnce();
      await b.tryOnce(); // b sees a's Lease
      clock.b.wall += step;
      advance(clock.b, 14_000);
      await b.tryOnce();
      assert.equal(b.leadingSince(), undefined, '14 s without a renewal: not yet');
      advance(clock.b, 2_000);
      await b.tryOnce();
      assert.deepEqual(b.leadingSince(), new Date(clock.b.wall), '16 s: b leads');
      assert.equal(spec(name).holderIdentity, 'replica-b');
    });
  }

  it('releases the Lease on stop, so that another replica leads at its next try', async () => {
    const { a, b, name } = replicas();
    await a.tryOnce();
    await b.tryOnce();
    await a.stop();
    assert.equal(a.leadingSince(), undefined);
    assert.equal(spec(name).holderIdentity, '');
    await b.tryOnce();
    assert.deepEqual(b.leadingSince(), new Date(T0));
  });

  it('is named driftgate-notifications unless told otherwise, and refuses timings that could let two replicas lead', () => {
    assert.equal(NOTIFICATION_LEASE, 'driftgate-notifications');
    for (const t of [{ renewDeadlineMs: 15_000 }, { retryPeriodMs: 10_000 }, { leaseDurationMs: 5_000 }]) {
      assert.throws(() => new LeaderLease({ kubeConfig: kubeConfigFor(server), namespace: 'driftgate', logger: createLogger('silent'), ...t }), /retry period < renew deadline < lease duration/);
    }
  });
});
