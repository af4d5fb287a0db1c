/**
 * The embedded store's journal (SPEC §7): an append-only file, one JSON record per line, each record
 * carrying a keyed MAC of the previous record's MAC and its own body. A write is acknowledged only
 * once every byte of it is on disk (short writes are continued, then datasync).
 *
 * Line format: {"mac":"<64 hex>","prev":"<64 hex>","body":<body>} where body is
 * {"seq":n,"at":"…","type":"…","data":…} and mac = HMAC-SHA256(chain key, prev + "\n" + the exact
 * body text). The chain key lives with the signing keys (src/keys/journal-key.ts): without it nobody
 * can recompute the chain after editing, inserting or deleting a record.
 *
 * A cut tail leaves a valid chain, so the journal also keeps an anchor outside the file (the keys
 * directory): the record count and the last MAC, rewritten within 50 ms of a durable write and at
 * close. A journal shorter than its anchor, or whose record at the anchor's count has another MAC,
 * was cut or rewritten. Bypass audit annotations carry `seq:mac` of their task record as a second, external
 * anchor (`driftgate journal verify --expect-head`).
 *
 * Concurrent appends are group-committed: records queued while a write is in flight go out together
 * in the next write and share one datasync, in the order they were appended. A failed write is cut
 * back to the last acknowledged byte and the whole batch is refused; the journal stays usable and
 * the next append tries again (a full disk that gets space back recovers without a restart).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statfsSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { fsyncDir } from '../util/fsync-dir.ts';
import { open, writeFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DriftgateError, errorMessage } from '../errors.ts';
import type { ChainKey } from '../keys/journal-key.ts';

export interface JournalEntry<T = unknown> {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly data: T;
}

export const GENESIS = '0'.repeat(64);
const PREFIX = /^\{"mac":"([0-9a-f]{64})","prev":"([0-9a-f]{64})","body":/;
const PREFIX_LENGTH = '{"mac":"","prev":"","body":'.length + 128;
const LEGACY_PREFIX = '{"hash":"';

export const LEGACY_MESSAGE =
  'was written by an older driftgate (unkeyed hash chain, unsigned grant states); it is not trusted. ' +
  'Check it with the old version, then move it aside (keep it as evidence) and start with an empty journal: see docs/storage.md "Upgrading from an unkeyed journal"';

/** Where the journal's head must be (from the anchor file, or an audit annotation). */
export interface Anchor {
  readonly count: number;
  /** the MAC of record `count` (GENESIS for an empty journal); a prefix of at least 12 hex is enough */
  readonly head: string;
}

export interface JournalReading {
  /** trusted records, in order (only `readJournal` collects them; a streamed replay hands them out) */
  readonly entries: JournalEntry[];
  readonly count: number;
  /** the MAC of the last trusted record (the chain continues from here) */
  readonly lastHash: string;
  /** byte length of the trusted prefix of the file */
  readonly goodBytes: number;
  /** an incomplete last line (a crash mid-write): not trusted, safe to cut */
  readonly tornTail: boolean;
  /** the file is in the unkeyed format of older versions */
  readonly legacy: boolean;
  /** breaks in the chain or disagreements with an anchor: any entry here means the file was edited */
  readonly problems: readonly string[];
}

export type OnEntry = (entry: JournalEntry, offset: number, length: number) => void;

/** Checks lines one by one; stops trusting anything at the first break. */
class ChainReader {
  prev = GENESIS;
  count = 0;
  goodBytes = 0;
  lineNo = 0;
  legacy = false;
  readonly problems: string[] = [];
  /** MACs of the records whose sequence numbers an anchor names */
  readonly seen = new Map<number, string>();
  readonly #key: ChainKey;
  readonly #watch: ReadonlySet<number>;
  readonly #onEntry: OnEntry;

  constructor(key: ChainKey, watch: ReadonlySet<number>, onEntry: OnEntry) {
    this.#key = key;
    this.#watch = watch;
    this.#onEntry = onEntry;
  }

  /** `line` without its newline; `offset`/`bytes`: where the line (with newline) sits in the file. */
  line(line: string, offset: number, bytes: number): boolean {
    this.lineNo += 1;
    if (this.lineNo === 1 && line.startsWith(LEGACY_PREFIX)) {
      this.legacy = true;
      return this.#fail(`the journal ${LEGACY_MESSAGE}`);
    }
    const m = PREFIX.exec(line);
    if (!m || !line.endsWith('}')) return this.#fail('not a journal record');
    const body = line.slice(PREFIX_LENGTH, -1);
    const [, mac, linePrev] = m;
    if (linePrev !== this.prev) return this.#fail(`chain broken (prev does not match line ${this.lineNo - 1}: a record was removed, inserted or reordered)`);
    if (this.#key.mac(linePrev!, body) !== mac) return this.#fail('MAC mismatch (record edited, or written without the chain key)');
    let entry: JournalEntry;
    try {
      entry = JSON.parse(body) as JournalEntry;
    } catch {
      return this.#fail('unreadable body');
    }
    if (entry.seq !== this.count + 1) return this.#fail(`sequence ${entry.seq}, expected ${this.count + 1}`);
    this.count += 1;
    this.prev = mac!;
    this.goodBytes = offset + bytes;
    if (this.#watch.has(this.count)) this.seen.set(this.count, mac!);
    this.#onEntry(entry, offset, bytes);
    return true;
  }

  #fail(why: string): false {
    this.problems.push(`line ${this.lineNo}: ${why}`);
    return false;
  }

  /** Problems with the anchors: the journal must contain each anchored record, with the anchored MAC. */
  anchorProblems(anchors: readonly (Anchor & { readonly from: string })[]): string[] {
    const out: string[] = [];
    for (const a of anchors) {
      if (a.count === 0) continue;
      const mac = this.seen.get(a.count);
      if (this.count < a.count) out.push(`${a.from} says ${a.count} records, the journal has ${this.count} trusted: records ${this.count + 1}–${a.count} are missing (cut off or removed)`);
      else if (!mac || !mac.startsWith(a.head)) out.push(`record ${a.count} is not the one ${a.from} names (MAC ${mac?.slice(0, 16) ?? 'none'}…, expected ${a.head.slice(0, 16)}…): the journal was replaced`);
    }
    return out;
  }
}

/** Reads and checks a journal's text against its chain key and anchors. Pure. */
export function readJournal(text: string, key: ChainKey, anchors: readonly (Anchor & { readonly from: string })[] = []): JournalReading {
  const entries: JournalEntry[] = [];
  const reader = new ChainReader(key, new Set(anchors.map((a) => a.count)), (e) => entries.push(e));
  const buf = Buffer.from(text, 'utf8');
  const torn = scanLines(buf, 0, (line, offset, bytes) => reader.line(line, offset, bytes));
  return finish(reader, torn, anchors, entries);
}

function finish(reader: ChainReader, torn: boolean, anchors: readonly (Anchor & { readonly from: string })[], entries: JournalEntry[]): JournalReading {
  const chainOk = reader.problems.length === 0;
  const problems = chainOk ? reader.anchorProblems(anchors) : reader.problems;
  return { entries, count: reader.count, lastHash: reader.prev, goodBytes: reader.goodBytes, tornTail: torn && chainOk, legacy: reader.legacy, problems };
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

/**
 * Streams a journal file through one 1 MiB buffer (doubled only for a longer line), so replaying a
 * large journal never holds it whole. The buffer is reused: the incomplete line at a chunk's end
 * moves to its start and the next read appends to it. (A new buffer per chunk cost ~10 MiB of RSS
 * after the replay: glibc raises its mmap threshold once a large block is freed, so the later
 * 1 MiB blocks came from the main heap and left it fragmented.)
 */
function replayFile(file: string, key: ChainKey, anchors: readonly (Anchor & { readonly from: string })[], onEntry: OnEntry): JournalReading {
  const reader = new ChainReader(key, new Set(anchors.map((a) => a.count)), onEntry);
  const fd = openSync(file, 'r');
  let buf = Buffer.allocUnsafe(CHUNK);
  let held = 0; // bytes of an incomplete line at buf[0, held)
  let base = 0; // file offset of buf[0]
  try {
    for (;;) {
      if (held === buf.length) buf = Buffer.concat([buf], buf.length * 2); // a line longer than the buffer
      const n = readSync(fd, buf, held, buf.length - held, null);
      if (n === 0) break;
      const end = held + n;
      const lastNl = buf.lastIndexOf(10, end - 1);
      if (lastNl < 0) {
        held = end;
        continue;
      }
      let ok = true;
      scanLines(buf.subarray(0, lastNl + 1), base, (line, offset, bytes) => (ok = reader.line(line, offset, bytes)));
      if (!ok) break;
      held = buf.copy(buf, 0, lastNl + 1, end);
      base += lastNl + 1;
    }
  } finally {
    closeSync(fd);
  }
  return finish(reader, held > 0, anchors, []);
}

/** Checks a journal file (streamed) against its chain key and anchors, without opening it for writing. */
export function verifyJournalFile(file: string, key: ChainKey, anchors: readonly (Anchor & { readonly from: string })[]): JournalReading {
  return replayFile(file, key, anchors, () => undefined);
}

// ---- the anchor file ----

/** The anchor file's content; undefined when there is no file. */
export function readAnchor(file: string): Anchor | undefined {
  if (!existsSync(file)) return undefined;
  let a: Partial<Anchor>;
  try {
    a = JSON.parse(readFileSync(file, 'utf8')) as Partial<Anchor>;
  } catch (err) {
    throw new DriftgateError('JOURNAL_TAMPERED', `journal anchor ${file} is unreadable (${errorMessage(err)}): see docs/runbook.md "Journal verification fails"`);
  }
  if (!Number.isInteger(a.count) || a.count! < 0 || typeof a.head !== 'string' || !/^[0-9a-f]{64}$/.test(a.head)) {
    throw new DriftgateError('JOURNAL_TAMPERED', `journal anchor ${file} is not {count, head}: see docs/runbook.md "Journal verification fails"`);
  }
  return { count: a.count!, head: a.head };
}

const anchorText = (a: Anchor) => `${JSON.stringify({ count: a.count, head: a.head })}\n`;

/** Writes the anchor durably (new installations and migrations). */
export function writeAnchorSync(file: string, a: Anchor): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, anchorText(a), { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Parses `<count>:<mac prefix>` (the audit annotation / --expect-head form). */
export function parseAnchor(text: string): Anchor {
  const m = /^(\d{1,15}):([0-9a-f]{12,64})$/.exec(text.trim());
  if (!m) throw new DriftgateError('INPUT_INVALID', `"${text}" is not <record count>:<MAC prefix of at least 12 hex>, e.g. 1042:3f9a0c1d2e4b (from a bypass's validate.driftgate.io/journal audit annotation)`);
  return { count: Number(m[1]), head: m[2]! };
}

export function formatAnchor(a: Anchor): string {
  return `${a.count}:${a.head.slice(0, 16)}`;
}

export interface Appended<T = unknown> extends JournalEntry<T> {
  /** byte offset and length of the record's line in the file */
  readonly offset: number;
  readonly length: number;
  /** the record's MAC: `seq:mac` is an anchor for it */
  readonly mac: string;
}

/** Reads one record back from the file by its position (the store keeps positions, not bodies). */
export function readRecordAt(fd: number, offset: number, length: number): JournalEntry {
  const buf = Buffer.allocUnsafe(length);
  readSync(fd, buf, 0, length, offset);
  const line = buf.toString('utf8').trimEnd();
  return JSON.parse(line.slice(PREFIX_LENGTH, -1)) as JournalEntry;
}

interface Pending {
  readonly type: string;
  readonly at: string;
  readonly data: unknown;
  readonly resolve: (e: Appended) => void;
  readonly reject: (err: Error) => void;
}

/**
 * The file operations the journal needs: fs.promises' FileHandle, or a stand-in that fails on cue.
 * Writes are positional; `write` may write fewer bytes than asked (the journal continues).
 */
export interface AppendHandle {
  write(buf: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
  /** free bytes on the volume (after a full disk, the journal is unavailable until there is room) */
  freeBytes?(): number;
}

export type OpenAppend = (file: string) => Promise<AppendHandle>;

const openForWrite: OpenAppend = async (file) => {
  const fh = await open(file, 'r+');
  return {
    write: (buf, offset, length, position) => fh.write(buf, offset, length, position),
    datasync: () => fh.datasync(),
    truncate: (length) => fh.truncate(length),
    close: () => fh.close(),
    freeBytes: () => freeBytes(file),
  };
};

/** Free space below which a journal that failed for lack of space stays unavailable. */
const MIN_FREE_BYTES = 64 * 1024;
/** How long the anchor may lag the journal while driftgate runs (close writes it at once). */
const ANCHOR_EVERY_MS = 50;
/** After a failure other than a full disk, how long the journal reports itself unavailable. */
const RETRY_AFTER_MS = 10_000;

export interface JournalOptions {
  readonly key: ChainKey;
  /** the anchor file (outside the data directory: the keys directory) */
  readonly anchorFile: string;
  readonly now?: () => Date;
  readonly openFile?: OpenAppend;
  readonly onEntry?: OnEntry;
}

export interface OpenedJournal {
  readonly journal: Journal;
  readonly reading: JournalReading;
}

export class Journal {
  readonly file: string;
  readonly #fh: AppendHandle;
  readonly #key: ChainKey;
  readonly #anchorFile: string;
  readonly #now: () => Date;
  /** the durable head: acknowledged records only */
  #head: string;
  #seq: number;
  #size: number;
  #queue: Pending[] = [];
  #flushing = false;
  /** refused for good (tampered file, or a failed write whose tail could not be cut back) */
  #failed: string | undefined;
  /** the last write failed and was cut back; cleared by a successful write or free space */
  #unavailable: { reason: string; at: number; space: boolean } | undefined;
  #anchorWrite: Promise<void> = Promise.resolve();
  #anchorTimer: NodeJS.Timeout | undefined;

  private constructor(file: string, fh: AppendHandle, o: JournalOptions, reading: JournalReading, size: number) {
    this.file = file;
    this.#fh = fh;
    this.#key = o.key;
    this.#anchorFile = o.anchorFile;
    this.#now = o.now ?? (() => new Date());
    this.#head = reading.lastHash;
    this.#seq = reading.count;
    this.#size = size;
    if (reading.problems.length > 0) this.#failed = `journal ${file} failed verification (${reading.problems[0]}); no record is written until it is resolved: see docs/runbook.md "Journal verification fails"`;
  }

  /**
   * Opens (creating) a journal and checks it against its anchor. A torn last line is cut off. A
   * journal that fails verification opens read-only: `reading.problems` says why, every append is
   * refused. A journal in the old unkeyed format is refused (JOURNAL_LEGACY).
   */
  static async open(file: string, o: JournalOptions): Promise<OpenedJournal> {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const created = !existsSync(file);
    let anchor: Anchor | undefined;
    let anchorProblem: string | undefined;
    try {
      anchor = readAnchor(o.anchorFile);
    } catch (err) {
      anchorProblem = errorMessage(err);
    }
    if (created && !anchorProblem) {
      closeSync(openSync(file, 'a', 0o600));
      fsyncDir(dir);
      if (!anchor) {
        anchor = { count: 0, head: GENESIS };
        writeAnchorSync(o.anchorFile, anchor);
      }
    }
    const anchors = anchor ? [{ ...anchor, from: `the anchor ${o.anchorFile}` }] : [];
    const reading = replayFile(file, o.key, anchors, o.onEntry ?? (() => undefined));
    if (reading.legacy) throw new DriftgateError('JOURNAL_LEGACY', `${file} ${LEGACY_MESSAGE}`);
    const problems = [...reading.problems, ...(anchorProblem ? [anchorProblem] : [])];
    if (!anchor && !anchorProblem && reading.count > 0) problems.push(`the anchor ${o.anchorFile} is missing but the journal has ${reading.count} records (keys directory replaced, or anchor deleted to hide a cut)`);
    // An empty journal without an anchor (a crash between creating the two): anchor it before any write.
    if (!anchor && reading.count === 0 && problems.length === 0) writeAnchorSync(o.anchorFile, { count: 0, head: GENESIS });
    const checked: JournalReading = { ...reading, problems };
    if (checked.tornTail) truncateSync(file, checked.goodBytes);
    const size = statSync(file).size;
    const fh = await (o.openFile ?? openForWrite)(file);
    return { journal: new Journal(file, fh, o, checked, size), reading: checked };
  }

  /** The durable head: how many records are acknowledged and the last one's MAC. */
  get anchor(): Anchor {
    return { count: this.#seq, head: this.#head };
  }

  /**
   * Why the journal refuses writes now, or undefined. After a failed write: until a write succeeds,
   * or (a full disk) until at least 64 KiB are free again, or (other errors) for 10 s.
   */
  unavailable(): string | undefined {
    if (this.#failed) return this.#failed;
    const u = this.#unavailable;
    if (!u) return undefined;
    if (u.space ? (this.#fh.freeBytes?.() ?? 0) >= MIN_FREE_BYTES : Date.now() - u.at >= RETRY_AFTER_MS) {
      this.#unavailable = undefined;
      return undefined;
    }
    return u.reason;
  }

  /** Appends one record; resolves once it is wholly and durably on disk, rejects if it is not. */
  append<T>(type: string, data: T): Promise<Appended<T>> {
    if (this.#failed) return Promise.reject(new DriftgateError('STORE_UNAVAILABLE', this.#failed));
    return new Promise<Appended<T>>((resolve, reject) => {
      this.#queue.push({ type, at: this.#now().toISOString(), data, resolve: resolve as (e: Appended) => void, reject });
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
          for (const p of batch) p.reject(new DriftgateError('STORE_UNAVAILABLE', this.#failed));
          continue;
        }
        await this.#writeBatch(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** Chains, writes and syncs one batch; on any failure cuts the file back and refuses the batch. */
  async #writeBatch(batch: Pending[]): Promise<void> {
    let head = this.#head;
    let seq = this.#seq;
    let offset = this.#size;
    const lines: string[] = [];
    const done: Appended[] = [];
    for (const p of batch) {
      seq += 1;
      const body = JSON.stringify({ seq, at: p.at, type: p.type, data: p.data });
      const mac = this.#key.mac(head, body);
      const line = `{"mac":"${mac}","prev":"${head}","body":${body}}\n`;
      const length = Buffer.byteLength(line);
      lines.push(line);
      done.push({ seq, at: p.at, type: p.type, data: p.data, offset, length, mac });
      offset += length;
      head = mac;
    }
    const buf = Buffer.from(lines.join(''), 'utf8');
    try {
      for (let written = 0; written < buf.length; ) {
        const { bytesWritten } = await this.#fh.write(buf, written, buf.length - written, this.#size + written);
        if (!(bytesWritten > 0)) throw new Error(`short write: ${written} of ${buf.length} bytes written, then none (disk full?)`);
        written += bytesWritten;
      }
      await this.#fh.datasync();
    } catch (err) {
      await this.#cutBack(err);
      for (const p of batch) p.reject(new DriftgateError('STORE_UNAVAILABLE', `journal write failed, nothing was recorded: ${errorMessage(err)}`, { cause: err }));
      return;
    }
    this.#head = head;
    this.#seq = seq;
    this.#size = offset;
    this.#unavailable = undefined;
    batch.forEach((p, i) => p.resolve(done[i]!));
    this.#saveAnchor();
  }

  /** Removes whatever part of a failed batch reached the file, so the next write starts clean. */
  async #cutBack(err: unknown): Promise<void> {
    const code = (err as { code?: string }).code;
    const space = code === 'ENOSPC' || code === 'EDQUOT' || /short write/.test(errorMessage(err));
    this.#unavailable = { reason: `journal ${this.file}: the last write failed (${errorMessage(err)}); records are refused until it succeeds${space ? ' (free space on the volume)' : ''}`, at: Date.now(), space };
    try {
      await this.#fh.truncate(this.#size);
      await this.#fh.datasync();
    } catch (cutErr) {
      this.#failed = `journal ${this.file}: a failed write could not be cut back (${errorMessage(cutErr)}); restart driftgate (the torn line is cut at start)`;
    }
  }

  /**
   * Rewrites the anchor file after durable writes: off the acknowledgement path, at most every
   * ANCHOR_EVERY_MS (a burst of bypasses costs one rename), and at close.
   */
  #saveAnchor(): void {
    if (this.#anchorTimer) return;
    this.#anchorTimer = setTimeout(() => {
      this.#anchorTimer = undefined;
      this.#anchorWrite = this.#anchorWrite.then(() => this.#writeAnchor());
    }, ANCHOR_EVERY_MS);
    this.#anchorTimer.unref();
  }

  async #writeAnchor(): Promise<void> {
    const tmp = `${this.#anchorFile}.tmp`;
    try {
      await writeFile(tmp, anchorText(this.anchor), { mode: 0o600 });
      await rename(tmp, this.#anchorFile);
    } catch {
      // A lagging anchor is still a valid lower bound; the next write tries again.
    }
  }

  async close(): Promise<void> {
    while (this.#flushing || this.#queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    clearTimeout(this.#anchorTimer);
    await this.#anchorWrite;
    if (!this.#failed && this.#seq > 0) writeAnchorSync(this.#anchorFile, this.anchor);
    await this.#fh.close();
  }
}

function freeBytes(file: string): number {
  try {
    const s = statfsSync(dirname(file));
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

