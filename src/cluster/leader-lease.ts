/**
 * One replica at a time for the work every replica would otherwise repeat (the notification sweep:
 * expired grants, first uses, overdue tasks). The replicas share a coordination.k8s.io/v1 Lease in
 * driftgate's namespace and hold it as Kubernetes' own leader election (client-go) does:
 *
 * - The holder renews `renewTime` every retry period, with the Lease's resourceVersion as a
 *   precondition: of two replicas writing at once, one gets 409 Conflict and stays a follower.
 * - A follower takes the Lease over only when the holder has not renewed it for the lease duration,
 *   measured on the follower's own clock from the moment it last saw the Lease change (never from the
 *   `renewTime` written by another machine, whose clock may be off).
 * - The holder stops leading when it could not renew for the renew deadline (shorter than the lease
 *   duration), so two replicas never both lead on one timeline; on a graceful stop it releases the
 *   Lease (empty holder) and another replica takes over at its next try.
 * - Every local deadline (the renew deadline, a follower's wait) runs on a monotonic clock, so a step
 *   of the wall clock (an NTP correction, a clock set by hand) neither extends nor shortens one; the
 *   wall clock only fills in the Lease's `renewTime` and `acquireTime`, and says since when this
 *   replica leads.
 *
 * The Lease grants no power over grants or tasks: a forged holder only moves (or stops) who sends the
 * swept notifications, and writing it needs `update leases` in driftgate's namespace.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.ts';
import { statusCode } from '../util/kube-status.ts';

export const NOTIFICATION_LEASE = 'driftgate-notifications';

export interface LeaderLeaseOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly name?: string;
  /** who holds it, as written in the Lease; default `<hostname>_<random>` (the pod's name in a pod) */
  readonly identity?: string;
  readonly logger: Logger;
  /** the wall clock: `renewTime`/`acquireTime` in the Lease and leadingSince() (default: Date) */
  readonly now?: () => Date;
  /** milliseconds on a clock that never steps, for every local deadline (default performance.now()) */
  readonly monotonic?: () => number;
  /** how long a Lease nobody renews keeps others out (default 15 s, as kube-controller-manager) */
  readonly leaseDurationMs?: number;
  /** how long the holder keeps leading without a successful renewal (default 10 s) */
  readonly renewDeadlineMs?: number;
  /** how often every replica tries (default 2 s) */
  readonly retryPeriodMs?: number;
}

export class LeaderLease {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly #api: CoordinationV1Api;
  readonly #ns: string;
  readonly #name: string;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #monotonic: () => number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  /** the Lease as last read (holder, renewTime, version) and when this replica saw it change (monotonic ms) */
  #observed: { readonly key: string; readonly at: number } | undefined;
  #leadingSince: Date | undefined;
  /** when the last successful renewal started (monotonic ms) */
  #renewedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #lastProblem = '';

  constructor(o: LeaderLeaseOptions) {
    this.#api = o.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#ns = o.namespace;
    this.#name = o.name ?? NOTIFICATION_LEASE;
    this.identity = o.identity ?? `${hostname()}_${randomUUID()}`;
    this.#logger = o.logger;
    this.#now = o.now ?? (() => new Date());
    this.#monotonic = o.monotonic ?? (() => performance.now());
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (!(this.#retryPeriodMs < this.#renewDeadlineMs && this.#renewDeadlineMs < this.leaseDurationMs)) {
      throw new Error('leader lease: retry period < renew deadline < lease duration is required');
    }
  }

  /** Since when this replica leads; undefined while it does not (or its last renewal is too old). */
  leadingSince(): Date | undefined {
    if (!this.#leadingSince) return undefined;
    if (this.#pastRenewDeadline()) {
      this.#stepDown('its renewals failed for longer than the renew deadline');
      return undefined;
    }
    return this.#leadingSince;
  }

  /** Tries at once, then every retry period. */
  start(): void {
    const tick = (): void => {
      this.#running = this.tryOnce().finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#retryPeriodMs).unref();
      });
    };
    tick();
  }

  /** Stops trying; a holder releases the Lease so that another replica takes over without waiting it out. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (!this.#leadingSince) return;
    this.#leadingSince = undefined;
    try {
      const lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#ns });
      if (lease.spec?.holderIdentity !== this.identity) return;
      await this.#api.replaceNamespacedLease({ name: this.#name, namespace: this.#ns, body: { ...lease, spec: { ...lease.spec, holderIdentity: '' } } });
      this.#logger.info({ lease: this.#name }, 'leader lease released');
    } catch (err) {
      this.#logger.warn({ lease: this.#name, err: errorMessage(err) }, 'leader lease not released: the other replicas take over once it expires');
    }
  }

  /** One attempt to acquire or renew the Lease. Never throws. */
  async tryOnce(): Promise<void> {
    const now = this.#now();
    const tick = this.#monotonic();
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#ns });
    } catch (err) {
      if (statusCode(err) !== 404) return this.#failed(err);
    }
    if (this.#stopped) return;
    if (!lease) {
      const body: V1Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#name, namespace: this.#ns },
        spec: { holderIdentity: this.identity, leaseDurationSeconds: this.#durationSeconds(), acquireTime: new V1MicroTime(now), renewTime: new V1MicroTime(now), leaseTransitions: 0 },
      };
      try {
        await this.#api.createNamespacedLease({ namespace: this.#ns, body });
        return this.#leading(now, tick);
      } catch (err) {
        return statusCode(err) === 409 ? this.#following() : this.#failed(err);
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}\u0000${spec.renewTime ? new Date(spec.renewTime).getTime() : ''}\u0000${lease.metadata?.resourceVersion ?? ''}`;
    if (this.#observed?.key !== key) this.#observed = { key, at: tick };
    const mine = holder === this.identity;
    // never longer than this replica's own: a Lease created by someone else with a huge duration does not
    // keep the replicas following
    const durationMs = Math.min(spec.leaseDurationSeconds ?? this.#durationSeconds(), this.#durationSeconds()) * 1000;
    if (!mine && holder !== '' && tick < this.#observed.at + durationMs) return this.#following(holder);
    const renewed: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.#durationSeconds(),
        renewTime: new V1MicroTime(now),
        ...(mine ? {} : { acquireTime: new V1MicroTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      await this.#api.replaceNamespacedLease({ name: this.#name, namespace: this.#ns, body: renewed });
      return this.#leading(now, tick);
    } catch (err) {
      return statusCode(err) === 409 ? this.#following() : this.#failed(err);
    }
  }

  #durationSeconds(): number {
    return Math.ceil(this.leaseDurationMs / 1000);
  }

  /** A renewal that started at `at` (wall clock) and `tick` (monotonic) succeeded. */
  #leading(at: Date, tick: number): void {
    this.#renewedAt = tick;
    this.#lastProblem = '';
    if (this.#leadingSince || this.#stopped) return;
    this.#leadingSince = at;
    this.#logger.info({ lease: this.#name, identity: this.identity }, 'leader lease acquired: this replica sends the swept notifications');
  }

  #following(holder?: string): void {
    this.#lastProblem = '';
    this.#stepDown(holder ? `${holder} holds it` : 'another replica wrote it first');
  }

  #stepDown(why: string): void {
    if (!this.#leadingSince) return;
    this.#leadingSince = undefined;
    this.#logger.warn({ lease: this.#name, identity: this.identity }, `leader lease lost (${why}): this replica stops sending swept notifications`);
  }

  #failed(err: unknown): void {
    const problem = errorMessage(err);
    // logged when it changes, not every retry period
    if (problem !== this.#lastProblem) {
      this.#logger.warn({ lease: this.#name, err: problem }, 'leader lease: the API server could not be reached; retrying (check RBAC: get, create, update on leases in driftgate\'s namespace)');
      this.#lastProblem = problem;
    }
    if (this.#leadingSince && this.#pastRenewDeadline()) this.#stepDown('its renewals failed for longer than the renew deadline');
  }

  #pastRenewDeadline(): boolean {
    return this.#monotonic() - this.#renewedAt > this.#renewDeadlineMs;
  }
}
