/**
 * The durable outbox: every notification and every delivery attempt is a record in
 * `<data-dir>/outbox.jsonl` (one JSON line each, fsync'd before `enqueue` or `record` resolves),
 * replayed at start. A restart or a receiver that is down loses nothing: what
 * was enqueued and not yet delivered is delivered after the restart, what was delivered is not sent
 * again. Deliveries are tracked per (event, sink); a delivery is `pending` until it succeeds or runs
 * out of attempts (`dead`, a dead letter).
 */
import { join } from 'node:path';
import type { Notification } from './events.ts';
import { JsonLines, type Replay } from './json-lines.ts';

export const OUTBOX_FILE = 'outbox.jsonl';

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface Delivery {
  readonly event: Notification;
  readonly sink: string;
  readonly attempts: number;
  readonly status: DeliveryStatus;
  /** earliest time of the next attempt (epoch ms) */
  readonly nextAt: number;
  readonly lastError?: string;
  readonly lastAttemptAt?: string;
}

type EventRecord = { event: Notification; sinks: string[] };
type AttemptRecord = { key: string; sink: string; attempt: number; ok: boolean; status?: number; error?: string; nextAt?: number; dead?: boolean };
type RetryRecord = { key: string; sink: string; by: string };
/** a line of the file: `t` is the record type, `at` when it was written; `known` lists keys of finished events (compaction) */
type Line = { t: 'created' } | ({ t: 'event' } & EventRecord) | ({ t: 'attempt' } & AttemptRecord) | ({ t: 'retry' } & RetryRecord) | { t: 'known'; keys: string[] };

/** compact at start once the file holds this many records and four times what compaction would keep */
export const COMPACT_AFTER = 1000;

const id = (key: string, sink: string): string => `${key}\u0000${sink}`;

export class Outbox {
  #file!: JsonLines;
  readonly #now: () => Date;
  /** every event key ever enqueued: enqueueing a known fact again is a no-op */
  readonly #keys = new Set<string>();
  /** deliveries not yet delivered (pending and dead); delivered ones are forgotten */
  readonly #open = new Map<string, Delivery>();
  #createdAt = '';
  #replay: Replay = { records: 0, unreadable: 0, tornTail: false };

  private constructor(now: () => Date) {
    this.#now = now;
  }

  /** what replaying the file found: skipped unreadable lines, a cut torn tail */
  get replay(): Replay {
    return this.#replay;
  }

  static async open(dataDir: string, now: () => Date): Promise<Outbox> {
    const outbox = new Outbox(now);
    const { lines, replay } = await JsonLines.open(
      join(dataDir, OUTBOX_FILE),
      (r) => outbox.#apply(r as Line & { at: string }),
      (records) => outbox.#compacted(records),
    );
    outbox.#file = lines;
    outbox.#replay = replay;
    if (outbox.#createdAt === '') outbox.#createdAt = await outbox.#append({ t: 'created' });
    return outbox;
  }

  async #append(line: Line): Promise<string> {
    const at = this.#now().toISOString();
    await this.#file.append({ ...line, at });
    return at;
  }

  #apply(r: Line & { at: string }): void {
    switch (r.t) {
      case 'created':
        this.#createdAt = r.at;
        break;
      case 'event':
        this.#addEvent(r, Date.parse(r.at));
        break;
      case 'attempt':
        this.#applyAttempt(r, r.at);
        break;
      case 'retry':
        this.#applyRetry(r, Date.parse(r.at));
        break;
      case 'known':
        for (const k of r.keys) this.#keys.add(k);
        break;
      default:
        break;
    }
  }

  /**
   * The same state in fewer records, when the file has grown: the keys of finished events (so a fact
   * is still never sent twice), and each open delivery with its attempts so far.
   */
  #compacted(records: number): (Line & { at: string })[] | undefined {
    if (this.#createdAt === '' || records < COMPACT_AFTER || records < 4 * (this.#open.size * 2 + this.#keys.size / 500 + 2)) return undefined;
    const at = this.#createdAt;
    const open = new Set([...this.#open.values()].map((d) => d.event.key));
    const done = [...this.#keys].filter((k) => !open.has(k));
    const out: (Line & { at: string })[] = [{ t: 'created', at }];
    for (let i = 0; i < done.length; i += 500) out.push({ t: 'known', keys: done.slice(i, i + 500), at });
    for (const d of this.#open.values()) {
      out.push({ t: 'event', event: d.event, sinks: [d.sink], at: new Date(d.attempts === 0 ? d.nextAt : Date.parse(d.event.at)).toISOString() });
      if (d.attempts > 0) {
        const attempt: AttemptRecord = { key: d.event.key, sink: d.sink, attempt: d.attempts, ok: false, ...(d.lastError ? { error: d.lastError } : {}), ...(d.status === 'dead' ? { dead: true } : { nextAt: d.nextAt }) };
        out.push({ t: 'attempt', ...attempt, at: d.lastAttemptAt ?? at });
      }
    }
    return out;
  }

  #addEvent(r: EventRecord, at: number): void {
    this.#keys.add(r.event.key);
    for (const sink of r.sinks) this.#open.set(id(r.event.key, sink), { event: r.event, sink, attempts: 0, status: 'pending', nextAt: at });
  }

  #applyAttempt(r: AttemptRecord, at: string): void {
    const k = id(r.key, r.sink);
    const d = this.#open.get(k);
    if (!d) return;
    if (r.ok) {
      this.#open.delete(k);
      return;
    }
    this.#open.set(k, {
      ...d,
      attempts: r.attempt,
      status: r.dead ? 'dead' : 'pending',
      nextAt: r.nextAt ?? d.nextAt,
      ...(r.error ? { lastError: r.error } : {}),
      lastAttemptAt: at,
    });
  }

  #applyRetry(r: RetryRecord, at: number): void {
    const k = id(r.key, r.sink);
    const d = this.#open.get(k);
    if (d?.status === 'dead') this.#open.set(k, { ...d, attempts: 0, status: 'pending', nextAt: at });
  }

  /** When this outbox was created: facts older than this are history, not news. */
  get createdAt(): Date {
    return new Date(this.#createdAt);
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Records an event for these sinks; resolves once durable (false: the fact was already recorded). */
  async enqueue(event: Notification, sinks: readonly string[]): Promise<boolean> {
    if (this.#keys.has(event.key)) return false;
    this.#keys.add(event.key); // at once, so a concurrent enqueue of the same fact is a no-op
    try {
      const at = await this.#append({ t: 'event', event, sinks: [...sinks] });
      this.#addEvent({ event, sinks: [...sinks] }, Date.parse(at));
      return true;
    } catch (err) {
      this.#keys.delete(event.key);
      throw err;
    }
  }

  /** Records the outcome of one attempt (durably), so a restart neither repeats nor forgets it. */
  async record(d: Delivery, outcome: { ok: boolean; status?: number; error?: string; nextAt?: number; dead?: boolean }): Promise<void> {
    const r: AttemptRecord = { key: d.event.key, sink: d.sink, attempt: d.attempts + 1, ...outcome };
    this.#applyAttempt(r, await this.#append({ t: 'attempt', ...r }));
  }

  /** Puts a dead letter back in the queue (from the console). */
  async retry(key: string, sink: string, by: string): Promise<boolean> {
    if (this.#open.get(id(key, sink))?.status !== 'dead') return false;
    const at = await this.#append({ t: 'retry', key, sink, by });
    this.#applyRetry({ key, sink, by }, Date.parse(at));
    return true;
  }

  /** Pending deliveries, earliest first. */
  pending(): Delivery[] {
    return [...this.#open.values()].filter((d) => d.status === 'pending').sort((a, b) => a.nextAt - b.nextAt);
  }

  deadLetters(): Delivery[] {
    return [...this.#open.values()].filter((d) => d.status === 'dead');
  }

  close(): Promise<void> {
    return this.#file.close();
  }
}
