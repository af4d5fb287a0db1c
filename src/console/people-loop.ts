/**
 * Wires the people loop into the server: the notifier (outbox, sinks, sweep) and the console, from
 * the server's store, policy, keys and authenticator. server.ts calls this once; everything it
 * returns is a plain dependency for the app.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../admission/review.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { Notifier, type SweepTurn } from '../notify/notifier.ts';
import type { Policy } from '../policy/policy.ts';
import { BreakGlassService, type GrantEventHook } from '../service/break-glass.ts';
import type { BreakGlassStore } from '../store/store.ts';
import type { TaskRecorder } from '../tasks/task.ts';
import type { ConsoleDeps } from './console.ts';
import type { SessionKeys } from './session.ts';

export interface PeopleLoopOptions {
  readonly dataDir: string;
  readonly store: BreakGlassStore;
  readonly policy: () => Policy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly authenticator: Authenticator;
  readonly keys: SessionKeys;
  /**
   * Look for expiry, first use and overdue tasks: always (one replica), or only while this replica
   * holds the leader lease (the Kubernetes store: every replica would otherwise send the same facts;
   * grant transitions are sent by the replica that made them either way).
   */
  readonly sweep: true | SweepLeader;
}

/** The leader lease as the sweep sees it (src/cluster/leader-lease.ts). */
export interface SweepLeader {
  leadingSince(): Date | undefined;
  readonly leaseDurationMs: number;
}

/**
 * A new leader reports facts from one lease duration and one sweep interval before it took over: what
 * the previous leader may not have swept before it stopped. Facts in that window may reach a sink
 * twice, with the same X-Driftgate-Delivery key; none are lost.
 */
export function leaderTurn(leader: SweepLeader, policy: () => Policy): SweepTurn {
  return () => {
    const since = leader.leadingSince();
    return since && new Date(since.getTime() - leader.leaseDurationMs - policy().notifications.sweepIntervalMs);
  };
}

export interface PeopleLoop {
  readonly notifier: Notifier;
  readonly console: ConsoleDeps;
  readonly onGrantEvent: GrantEventHook;
  /** the webhook's task recorder, telling the notifier about a grant's first use (in the background) */
  recorder(inner: TaskRecorder): TaskRecorder;
  start(): void;
  close(): Promise<void>;
}

export async function openPeopleLoop(o: PeopleLoopOptions): Promise<PeopleLoop> {
  const notifier = await Notifier.open({ dataDir: o.dataDir, policy: o.policy, store: o.store, logger: o.logger, registry: o.registry, now: () => o.clock.now() });
  const service = new BreakGlassService({ store: o.store, policy: o.policy, clock: o.clock, onGrantEvent: notifier.onGrantEvent, logger: o.logger });
  const sinks = o.policy().notifications.sinks.length;
  o.logger.info({ sinks, sweep: o.sweep === true ? 'on' : 'while this replica holds the leader lease' }, sinks > 0 ? 'notifications: delivering from <data-dir>/outbox.jsonl' : 'notifications: no sinks configured (policy key notifications.sinks); events are kept in the outbox');
  return {
    notifier,
    onGrantEvent: notifier.onGrantEvent,
    console: { service, authenticator: o.authenticator, policy: o.policy, clock: o.clock, keys: o.keys, notifier, logger: o.logger },
    recorder: (inner) => notifier.recorder(inner),
    start: () => notifier.start({ sweep: o.sweep === true ? true : leaderTurn(o.sweep, o.policy) }),
    close: () => notifier.close(),
  };
}
