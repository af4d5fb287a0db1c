/**
 * The embedded store's journal (SPEC §7): an append-only file, one JSON record per line, each record
 * carrying the hash of the previous one. A write is acknowledged only after it is on disk (datasync).
 *
 * Line format: {"hash":"<64 hex>","prev":"<64 hex>","body":<body>} where body is
 * {"seq":n,"at":"…","type":"…","data":…} and hash = sha256(prev + "\n" + the exact body text). Hashing
 * the text as written (not a re-serialization) keeps verification exact whatever the data holds.
 *
 * Concurrent appends are group-committed: records queued while a write is in flight go out together
 * in the next write and share one datasync, in the order they were appended.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DriftgateError, errorMessage } from '../errors.ts';

export interface JournalEntry<T = unknown> {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly data: T;
}

export const GENESIS = '0'.repeat(64);
const PREFIX = /^\{"hash":"([0-9a-f]{64})","prev":"([0-9a-f]{64})","body":/;
const PREFIX_LENGTH = '{"hash":"","prev":"","body":'.length + 128;

export function chainHash(prev: string, body: string): string {
  return createHash('sha256').update(prev).update('\n').update(body).digest('hex');
}

export interface JournalReading {
  readonly entries: JournalEntry[];
  /** the hash of the last trusted record (the chain continues from here) */
  readonly lastHash: string;
  /** byte length of the trusted prefix of the file */
  readonly goodBytes: number;
  /** an incomplete last line (a crash mid-write): not trusted, safe to cut */
  readonly tornTail: boolean;
  /** breaks in the chain: any entry here means the file was edited */
  readonly problems: readonly string[];
}

/** Reads and checks a journal's text. Pure: the caller decides what to do with torn tails and breaks. */
export function readJournal(text: string): JournalReading {
  const entries: JournalEntry[] = [];
  const problems: string[] = [];
  let prev = GENESIS;
  let offset = 0;
  let goodBytes = 0;
  let lineNo = 0;
  let tornTail = false;
  while (offset < text.length) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) {
      tornTail = true; // no newline: the write of this line never completed
      break;
    }
    const line = text.slice(offset, nl);
    lineNo += 1;
    offset = nl + 1;
    const m = PREFIX.exec(line);
    let entry: JournalEntry | undefined;
    if (!m || !line.endsWith('}')) {
      problems.push(`line ${lineNo}: not a journal record`);
    } else {
      const body = line.slice(PREFIX_LENGTH, -1);
      const [, hash, linePrev] = m;
      if (linePrev !== prev) problems.push(`line ${lineNo}: chain broken (prev does not match line ${lineNo - 1})`);
      else if (chainHash(linePrev!, body) !== hash) problems.push(`line ${lineNo}: hash mismatch (record edited)`);
      else {
        try {
          entry = JSON.parse(body) as JournalEntry;
        } catch {
          problems.push(`line ${lineNo}: unreadable body`);
        }
        if (entry && entry.seq !== entries.length + 1) problems.push(`line ${lineNo}: sequence ${entry.seq}, expected ${entries.length + 1}`);
      }
      if (problems.length === 0 && entry) {
        entries.push(entry);
        prev = hash!;
        goodBytes = offset;
      }
    }
    if (problems.length > 0) break; // nothing after a break can be trusted
  }
  return { entries, lastHash: prev, goodBytes, tornTail: tornTail && problems.length === 0, problems };
}

interface Pending {
  readonly line: string;
  readonly entry: JournalEntry;
  readonly resolve: (e: JournalEntry) => void;
  readonly reject: (err: Error) => void;
}

/** The file operations the journal needs: fs.promises' FileHandle, or a stand-in that fails on cue. */
export interface AppendHandle {
  write(data: string): Promise<unknown>;
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export type OpenAppend = (file: string) => Promise<AppendHandle>;

const openAppend: OpenAppend = async (file) => {
  const fh: FileHandle = await open(file, 'a', 0o600);
  return fh;
};

export interface OpenedJournal {
  readonly journal: Journal;
  readonly reading: JournalReading;
}

export class Journal {
  readonly file: string;
  #fh: AppendHandle;
  #lastHash: string;
  #seq: number;
  #queue: Pending[] = [];
  #flushing = false;
  #failed: Error | undefined;
  readonly #now: () => Date;

  private constructor(file: string, fh: AppendHandle, lastHash: string, seq: number, now: () => Date) {
    this.file = file;
    this.#fh = fh;
    this.#lastHash = lastHash;
    this.#seq = seq;
    this.#now = now;
  }

  /**
   * Opens (creating) a journal. A torn last line is cut off; a broken chain is reported in
   * `reading.problems` and new records chain on from the last trusted one.
   */
  static async open(file: string, now: () => Date = () => new Date(), openFile: OpenAppend = openAppend): Promise<OpenedJournal> {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const created = !existsSync(file);
    const reading = created ? readJournal('') : readJournal(readFileSync(file, 'utf8'));
    if (reading.tornTail) truncateSync(file, Buffer.byteLength(readFileSync(file, 'utf8').slice(0, reading.goodBytes)));
    const fh = await openFile(file);
    if (created) {
      // make the new file's directory entry durable too
      const d = openSync(dir, 'r');
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
    }
    // After a break, new records chain on from the last trusted one: verification still reports the break.
    return { journal: new Journal(file, fh, reading.lastHash, reading.entries.length, now), reading };
  }

  /** Appends one record; resolves once it is durable on disk, rejects if it could not be written. */
  append<T>(type: string, data: T): Promise<JournalEntry<T>> {
    if (this.#failed) {
      return Promise.reject(new DriftgateError('STORE_UNAVAILABLE', `journal ${this.file} is unavailable: ${this.#failed.message}`));
    }
    const entry: JournalEntry<T> = { seq: this.#seq + 1, at: this.#now().toISOString(), type, data };
    const body = JSON.stringify(entry);
    const hash = chainHash(this.#lastHash, body);
    const line = `{"hash":"${hash}","prev":"${this.#lastHash}","body":${body}}\n`;
    this.#seq += 1;
    this.#lastHash = hash;
    return new Promise<JournalEntry<T>>((resolve, reject) => {
      this.#queue.push({ line, entry, resolve: resolve as (e: JournalEntry) => void, reject });
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        if (this.#failed) {
          for (const p of batch) p.reject(new DriftgateError('STORE_UNAVAILABLE', `journal ${this.file} is unavailable: ${this.#failed.message}`));
          continue;
        }
        try {
          await this.#fh.write(batch.map((p) => p.line).join(''));
          await this.#fh.datasync();
          for (const p of batch) p.resolve(p.entry);
        } catch (err) {
          // After a failed write the file's tail is unknown: refuse further appends until restart.
          this.#failed = err instanceof Error ? err : new Error(errorMessage(err));
          for (const p of batch) p.reject(new DriftgateError('STORE_UNAVAILABLE', `journal write failed: ${errorMessage(err)}`, { cause: err }));
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async close(): Promise<void> {
    while (this.#flushing || this.#queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.#fh.close();
  }
}
