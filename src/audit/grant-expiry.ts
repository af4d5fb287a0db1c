/**
 * A grant expires by the clock, not by a request, so nobody's action logs it: this looks every
 * `everyMs` and logs each grant whose expiry passed since the last look (one `grant.expired` line per
 * grant while the server runs; a grant that expired while it was down is not logged afterwards).
 * With the Kubernetes store each replica logs it.
 */
import type { Logger } from 'pino';
import type { BreakGlassStore } from '../store/store.ts';
import { logGrantEvent } from './break-glass-log.ts';

export interface GrantExpiryLogOptions {
  readonly store: Pick<BreakGlassStore, 'listGrants'>;
  readonly logger: Logger;
  readonly now: () => Date;
}

export class GrantExpiryLog {
  readonly #o: GrantExpiryLogOptions;
  #since: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: GrantExpiryLogOptions) {
    this.#o = o;
    this.#since = o.now().getTime();
  }

  /** Logs the grants that expired since the last call; returns their ids. */
  tick(): string[] {
    const now = this.#o.now();
    const logged: string[] = [];
    for (const g of this.#o.store.listGrants({ state: 'expired' }, now)) {
      const at = Date.parse(g.expiresAt);
      if (at <= this.#since || at > now.getTime()) continue;
      logGrantEvent(this.#o.logger, 'grant.expired', g, 'driftgate', `its lifetime ended at ${g.expiresAt}`);
      logged.push(g.id);
    }
    this.#since = now.getTime();
    return logged;
  }

  start(everyMs = 30_000): void {
    this.#timer = setInterval(() => this.tick(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
