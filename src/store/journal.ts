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
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, statSync, truncateSync } from 'node:fs';
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
  /** trusted records, in order (only `readJournal` collects them; a streamed replay hands them out) */
  readonly entries: JournalEntry[];
  readonly count: number;
  /** the hash of the last trusted record (the chain continues from here) */
  readonly lastHash: string;
  /** byte length of the trusted prefix of the file */
  readonly goodBytes: number;
  /** an incomplete last line (a crash mid-write): not trusted, safe to cut */
  readonly tornTail: boolean;
  /** breaks in the chain: any entry here means the file was edited */
  readonly problems: readonly string[];
}

export type OnEntry = (entry: JournalEntry, offset: number, length: number) => void;

/** Checks lines one by one; stops trusting anything at the first break. */
class ChainReader {
  prev = GENESIS;
  count = 0;
  goodBytes = 0;
  lineNo = 0;
  readonly problems: string[] = [];
  readonly #onEntry: OnEntry;

  constructor(onEntry: OnEntry) {
    this.#onEntry = onEntry;
  }

  /** `line` without its newline; `offset`/`bytes`: where the line (with newline) sits in the file. */
  line(line: string, offset: number, bytes: number): boolean {
    this.lineNo += 1;
    const m = PREFIX.exec(line);
    if (!m || !line.endsWith('}')) return this.#fail('not a journal record');
    const body = line.slice(PREFIX_LENGTH, -1);
    const [, hash, linePrev] = m;
    if (linePrev !== this.prev) return this.#fail(`chain broken (prev does not match line ${this.lineNo - 1})`);
    if (chainHash(linePrev!, body) !== hash) return this.#fail('hash mismatch (record edited)');
    let entry: JournalEntry;
    try {
      entry = JSON.parse(body) as JournalEntry;
    } catch {
      return this.#fail('unreadable body');
    }
    if (entry.seq !== this.count + 1) return this.#fail(`sequence ${entry.seq}, expected ${this.count + 1}`);
    this.count += 1;
    this.prev = hash!;
    this.goodBytes = offset + bytes;
    this.#onEntry(entry, offset, bytes);
    return true;
  }

  #fail(why: string): false {
    this.problems.push(`line ${this.lineNo}: ${why}`);
    return false;
  }
}

/** Reads and checks a journal's text. Pure: the caller decides what to do with torn tails and breaks. */
export function readJournal(text: string): JournalReading {
  const entries: JournalEntry[] = [];
  const reader = new ChainReader((e) => entries.push(e));
  const buf = Buffer.from(text, 'utf8');
  const tornTail = scanLines(buf, 0, (line, offset, bytes) => reader.line(line, offset, bytes));
  return { entries, count: reader.count, lastHash: reader.prev, goodBytes: reader.goodBytes, tornTail: tornTail && reader.problems.length === 0, problems: reader.problems };
}

/** Calls `fn` for each complete line of `buf`; returns true when bytes remain after the last newline. */
function scanLines(buf: Buffer, base: number, fn: (line: string, offset: number, bytes: number) => boolean): boolean {
  let start = 0;
  for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
    if (!fn(buf.toString('utf8', start, nl), base + start, nl - start + 1)) return false;
    start = nl + 1;
  }
  return start < buf.length;
}

const CHUNK = 1 << 20;

/** Streams a journal file in 1 MiB chunks, so replaying a large journal never holds it whole. */
function replayFile(file: string, onEntry: OnEntry): JournalReading {
  const reader = new ChainReader(onEntry);
  const fd = openSync(file, 'r');
  let carry = Buffer.alloc(0);
  let base = 0; // file offset of carry[0]
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      const lastNl = buf.lastIndexOf(10);
      if (lastNl < 0) {
        carry = Buffer.from(buf);
        continue;
      }
      let ok = true;
      scanLines(buf.subarray(0, lastNl + 1), base, (line, offset, bytes) => (ok = reader.line(line, offset, bytes)));
      if (!ok) break;
      carry = Buffer.from(buf.subarray(lastNl + 1));
      base += lastNl + 1;
    }
  } finally {
    closeSync(fd);
  }
  const tornTail = carry.length > 0 && reader.problems.length === 0;
  return { entries: [], count: reader.count, lastHash: reader.prev, goodBytes: reader.goodBytes, tornTail, problems: reader.problems };
}

export interface Appended<T = unknown> extends JournalEntry<T> {
  /** byte offset and length of the record's line in the file */
  readonly offset: number;
  readonly length: number;
}

/** Reads one record back from the file by its position (the store keeps positions, not bodies). */
export function readRecordAt(fd: number, offset: number, length: number): JournalEntry {
  const buf = Buffer.allocUnsafe(length);
  readSync(fd, buf, 0, length, offset);
  const line = buf.toString('utf8').trimEnd();
  return JSON.parse(line.slice(PREFIX_LENGTH, -1)) as JournalEntry;
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
  /** bytes in the file once every queued record is written: the next record's offset */
  #size: number;

  private constructor(file: string, fh: AppendHandle, lastHash: string, seq: number, size: number, now: () => Date) {
    this.file = file;
    this.#fh = fh;
    this.#lastHash = lastHash;
    this.#seq = seq;
    this.#size = size;
    this.#now = now;
  }

  /**
   * Opens (creating) a journal. A torn last line is cut off; a broken chain is reported in
   * `reading.problems` and new records chain on from the last trusted one.
   */
  static async open(
    file: string,
    now: () => Date = () => new Date(),
    openFile: OpenAppend = openAppend,
    onEntry: OnEntry = () => undefined,
  ): Promise<OpenedJournal> {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const created = !existsSync(file);
    const reading = created ? readJournal('') : replayFile(file, onEntry);
    if (reading.tornTail) truncateSync(file, reading.goodBytes);
    const size = created ? 0 : statSync(file).size;
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
    return { journal: new Journal(file, fh, reading.lastHash, reading.count, size, now), reading };
  }

  /**
   * Appends one record; resolves once it is durable on disk (with where the line sits in the file),
   * rejects if it could not be written.
   */
  append<T>(type: string, data: T): Promise<Appended<T>> {
    if (this.#failed) {
      return Promise.reject(new DriftgateError('STORE_UNAVAILABLE', `journal ${this.file} is unavailable: ${this.#failed.message}`));
    }
    const entry: JournalEntry<T> = { seq: this.#seq + 1, at: this.#now().toISOString(), type, data };
    const body = JSON.stringify(entry);
    const hash = chainHash(this.#lastHash, body);
    const line = `{"hash":"${hash}","prev":"${this.#lastHash}","body":${body}}\n`;
    const appended: Appended<T> = { ...entry, offset: this.#size, length: Buffer.byteLength(line) };
    this.#seq += 1;
    this.#lastHash = hash;
    this.#size += appended.length;
    return new Promise<Appended<T>>((resolve, reject) => {
      this.#queue.push({ line, entry: appended, resolve: resolve as (e: JournalEntry) => void, reject });
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
