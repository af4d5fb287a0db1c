/**
 * The embedded store's task summaries as a columnar table: one row per task, typed-array columns
 * instead of one object (and a dozen strings) per task, so 100,000 tasks cost a few MiB of heap.
 * - repeated values (namespace, kind, name, writer, grant, owner, incident) are indexes into a
 *   string pool; state and source are bytes; recordedAt is epoch milliseconds;
 * - the task id and the admission uid are stored as a shared prefix plus a hex suffix (`t-a3f09c11d2`,
 *   `seed-17`) or as 128 bits (a UUID), the few others as strings; each has an exact hash index;
 * - resolutions (rare) sit in a sparse map; anything that does not round-trip exactly (a timestamp
 *   not in toISOString form, an odd id) is kept as the original string, so output never changes.
 * Summaries are materialized only for callers that list or get them.
 */
import type { Resolution, TaskSource, TaskState, TaskSummary } from '../tasks/task.ts';
import { compareText } from '../util/compare.ts';

const STATES: readonly TaskState[] = ['pending', 'reverted', 'backported', 'accepted', 'not-applied'];
const SOURCES: readonly (TaskSource | undefined)[] = [undefined, 'admission', 'detected'];
const NONE = -1;

/**
 * Distinct strings stored once and referenced by index, found through an open-addressing index of
 * their positions (a Map of 10,000 names held ~450 KiB; the index holds 4 bytes per slot, at most half full).
 */
class StringPool {
  readonly #values: string[] = [];
  #slots = new Int32Array(16).fill(NONE);

  /** the slot holding `s`, or the empty slot where it would go */
  #slotOf(s: string): number {
    const mask = this.#slots.length - 1;
    let i = hash(s) & mask;
    while (this.#slots[i] !== NONE && this.#values[this.#slots[i]!] !== s) i = (i + 1) & mask;
    return i;
  }

  id(s: string): number {
    const slot = this.#slotOf(s);
    if (this.#slots[slot] !== NONE) return this.#slots[slot]!;
    const id = this.#values.length;
    this.#values.push(s);
    this.#slots[slot] = id;
    if (this.#values.length * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    return id;
  }

  /** the index of `s`, or NONE when no row holds it (a filter on an unknown value matches nothing) */
  find(s: string): number {
    return this.#slots[this.#slotOf(s)]!;
  }

  at(i: number): string {
    return this.#values[i]!;
  }

  #rehash(size: number): void {
    this.#slots = new Int32Array(size).fill(NONE);
    this.#values.forEach((s, id) => {
      this.#slots[this.#slotOf(s)] = id; // the values are distinct: each finds an empty slot
    });
  }
}

type Column = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;
type ColumnType<T extends Column> = { new (b: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number };
/** ES2024 resizable ArrayBuffer (Node ≥ 20; the project's TypeScript lib is ES2023) */
type Resizable = ArrayBuffer & { readonly resizable: boolean; readonly maxByteLength: number; resize(bytes: number): void };
const ResizableBuffer = ArrayBuffer as unknown as new (bytes: number, o: { maxByteLength: number }) => Resizable;
/** elements of address space reserved per column; pages are committed only as rows are added */
const RESERVE = 1 << 22;

/**
 * A column of `size` elements over a resizable buffer. Columns grow in place: V8 reserves the address
 * space and commits pages as the buffer grows, so growing never copies and never leaves freed copies
 * in the malloc heap (copy-and-grow left ~28 MiB of RSS behind after replaying 100,000 tasks).
 */
function column<T extends Column>(of: ColumnType<T>, size: number): T {
  const bpe = of.BYTES_PER_ELEMENT;
  return new of(new ResizableBuffer(size * bpe, { maxByteLength: Math.max(size, RESERVE) * bpe }));
}

/** `a` with room for `size` elements (in place while the reservation lasts, else a copy into a larger one) */
function grown<T extends Column>(a: T, size: number): T {
  const bpe = a.BYTES_PER_ELEMENT;
  const buffer = a.buffer as Resizable;
  if (buffer.resizable && size * bpe <= buffer.maxByteLength) {
    if (size * bpe > buffer.byteLength) buffer.resize(size * bpe);
    return a;
  }
  const next = column(a.constructor as ColumnType<T>, Math.max(size, a.length * 2));
  next.set(a);
  return next;
}

function widened<T extends Column>(to: ColumnType<T>, from: Column): T {
  const next = column(to, from.length);
  next.set(from);
  return next;
}

/**
 * One repeated field (namespace, kind, ...): its distinct values in a pool, and per row 1 + the value's
 * index (0: absent) in the narrowest array that holds them (bytes until 255 values, then 16 bits, then 32).
 */
class PooledColumn {
  readonly #pool = new StringPool();
  #refs: Uint8Array | Uint16Array | Uint32Array = new Uint8Array(0);

  grow(rows: number): void {
    this.#refs = grown(this.#refs, rows);
  }

  set(row: number, value: string | undefined): void {
    const ref = value === undefined ? 0 : this.#pool.id(value) + 1;
    if (ref > 0xff && this.#refs instanceof Uint8Array) this.#refs = widened(Uint16Array, this.#refs);
    if (ref > 0xffff && this.#refs instanceof Uint16Array) this.#refs = widened(Uint32Array, this.#refs);
    this.#refs[row] = ref;
  }

  get(row: number): string | undefined {
    const ref = this.#refs[row]!;
    return ref === 0 ? undefined : this.#pool.at(ref - 1);
  }

  /** the stored reference of `value` (compare with ref()), or NONE when no row holds it */
  refOf(value: string): number {
    const i = this.#pool.find(value);
    return i === NONE ? NONE : i + 1;
  }

  ref(row: number): number {
    return this.#refs[row]!;
  }
}

/** Rows to allocate for `row`: a quarter more each time (copies stay amortized O(1), the unused tail ≤ 25 %). */
function capacityFor(row: number): number {
  return Math.max(1024, Math.ceil(row * 1.25));
}

/** 32-bit FNV-1a over UTF-16 code units: spreads keys over the hash index. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i += 1) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** a suffix of lowercase hex digits (its width kept, so leading zeros round-trip); linear: at most 16 steps per start */
const HEX_SUFFIX = /[0-9a-f]{1,16}$/;
const KIND_STRING = 0;
const KIND_UUID = 255;

/**
 * A column of mostly-unique keys (task ids, admission uids) with an exact lookup. Per row: a kind byte
 * (0 a plain string, 255 a UUID, 1–16 the width of a hex suffix), a prefix from a pool, and up to 128
 * bits. The index is open addressing over row numbers; a probe compares the decoded key exactly.
 */
class KeyColumn {
  readonly #prefixes = new PooledColumn();
  readonly #strings = new Map<number, string>();
  #kind = new Uint8Array(0);
  #words = new Uint32Array(0);
  /** each row's key hash: a probe decodes a key only when the hashes are equal */
  #hashes = new Uint32Array(0);
  #slots = new Int32Array(16).fill(NONE);
  #count = 0;

  #grow(rows: number): void {
    this.#kind = grown(this.#kind, rows);
    this.#prefixes.grow(rows);
    this.#words = grown(this.#words, rows * this.#width);
    this.#hashes = grown(this.#hashes, rows);
  }

  readonly #width: number;

  /** `words`: 32-bit words per row (4 hold a UUID; 2 a hex suffix of up to 16 digits) */
  constructor(words: 2 | 4) {
    this.#width = words;
  }

  /** stores `key` at `row` and indexes it; a key already indexed now finds this row (the later record wins) */
  set(row: number, key: string): void {
    if (row >= this.#kind.length) this.#grow(capacityFor(row));
    this.#encode(row, key);
    const h = hash(key);
    this.#hashes[row] = h;
    const mask = this.#slots.length - 1;
    let i = h & mask;
    for (; this.#slots[i] !== NONE; i = (i + 1) & mask) {
      const other = this.#slots[i]!;
      if (this.#hashes[other] === h && this.at(other) === key) {
        this.#slots[i] = row;
        return;
      }
    }
    this.#slots[i] = row;
    this.#count += 1;
    if (this.#count * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
  }

  #encode(row: number, key: string): void {
    const w = row * this.#width;
    this.#words.fill(0, w, w + this.#width);
    this.#strings.delete(row);
    if (this.#width === 4 && UUID.test(key)) {
      this.#kind[row] = KIND_UUID;
      this.#packHex(w, key.replaceAll('-', ''));
      return;
    }
    const m = HEX_SUFFIX.exec(key);
    if (m) {
      this.#kind[row] = m[0].length;
      this.#prefixes.set(row, key.slice(0, m.index));
      this.#packHex(w, m[0]);
      return;
    }
    this.#kind[row] = KIND_STRING;
    this.#strings.set(row, key);
  }

  /** hex digits (≤ 32) into words, least significant word first */
  #packHex(w: number, hex: string): void {
    for (let i = 0; i < hex.length; i += 1) {
      const nibble = hex.length - 1 - i;
      const word = w + (nibble >>> 3);
      const c = hex.charCodeAt(i);
      const value = c <= 57 ? c - 48 : c - 87; // 0-9, a-f (the callers matched lowercase hex)
      this.#words[word] = (this.#words[word]! | (value << ((nibble & 7) * 4))) >>> 0;
    }
  }

  #unpackHex(w: number, width: number): string {
    let out = '';
    for (let nibble = width - 1; nibble >= 0; nibble -= 1) out += ((this.#words[w + (nibble >>> 3)]! >>> ((nibble & 7) * 4)) & 15).toString(16);
    return out;
  }

  at(row: number): string {
    const kind = this.#kind[row]!;
    if (kind === KIND_STRING) return this.#strings.get(row)!;
    const w = row * this.#width;
    if (kind === KIND_UUID) {
      const h = this.#unpackHex(w, 32);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    return this.#prefixes.get(row)! + this.#unpackHex(w, kind);
  }

  /** the row holding `key`, or NONE */
  find(key: string): number {
    const h = hash(key);
    const mask = this.#slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const row = this.#slots[i]!;
      if (row === NONE) return NONE;
      if (this.#hashes[row] === h && this.at(row) === key) return row;
    }
  }

  #place(row: number, h: number): void {
    const mask = this.#slots.length - 1;
    let i = h & mask;
    while (this.#slots[i] !== NONE) i = (i + 1) & mask;
    this.#slots[i] = row;
  }

  #rehash(size: number): void {
    const old = this.#slots;
    this.#slots = column(Int32Array, size).fill(NONE);
    for (const row of old) if (row !== NONE) this.#place(row, this.#hashes[row]!);
  }
}

export interface TaskFilter {
  readonly state?: TaskState;
  readonly namespace?: string;
  /** epoch ms: only tasks recorded at or after it */
  readonly recordedSince?: number;
}

/** Where a task's full record sits in the journal. */
export interface TaskLocation {
  readonly offset: number;
  readonly length: number;
}

const POOLED = ['namespace', 'kind', 'name', 'writer', 'grantId', 'owner', 'incident'] as const;
type Pooled = (typeof POOLED)[number];

export class TaskTable {
  readonly #ids = new KeyColumn(2);
  readonly #uids = new KeyColumn(4);
  readonly #refs: Record<Pooled, PooledColumn> = { namespace: new PooledColumn(), kind: new PooledColumn(), name: new PooledColumn(), writer: new PooledColumn(), grantId: new PooledColumn(), owner: new PooledColumn(), incident: new PooledColumn() };
  #state = new Uint8Array(0);
  #source = new Uint8Array(0);
  #recordedAt = new Float64Array(0);
  /** journal offsets: 32 bits until the journal passes 4 GiB, then 64-bit floats (exact to 2^53) */
  #offset: Uint32Array | Float64Array = new Uint32Array(0);
  #length = new Uint32Array(0);
  /** recordedAt values that are not in toISOString form, kept as written (rare) */
  readonly #oddTimes = new Map<number, string>();
  readonly #resolutions = new Map<number, Resolution>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  #grow(rows: number): void {
    for (const f of POOLED) this.#refs[f].grow(rows);
    this.#state = grown(this.#state, rows);
    this.#source = grown(this.#source, rows);
    this.#recordedAt = grown(this.#recordedAt, rows);
    this.#offset = grown(this.#offset, rows);
    this.#length = grown(this.#length, rows);
  }

  /** Adds a task (a task id recorded twice keeps one row, the later record). */
  put(s: TaskSummary, at: TaskLocation): void {
    let row = this.#ids.find(s.id);
    if (row === NONE) {
      row = this.#size;
      if (row >= this.#state.length) this.#grow(capacityFor(row));
      this.#ids.set(row, s.id);
      this.#size += 1;
    }
    this.#uids.set(row, s.admissionUid);
    for (const f of POOLED) this.#refs[f].set(row, s[f]);
    this.#state[row] = STATES.indexOf(s.state);
    this.#source[row] = SOURCES.indexOf(s.source);
    const ms = Date.parse(s.recordedAt);
    if (Number.isFinite(ms) && new Date(ms).toISOString() === s.recordedAt) {
      this.#recordedAt[row] = ms;
      this.#oddTimes.delete(row);
    } else {
      this.#recordedAt[row] = Number.NaN;
      this.#oddTimes.set(row, s.recordedAt);
    }
    if (at.offset > 0xffffffff && this.#offset instanceof Uint32Array) this.#offset = widened(Float64Array, this.#offset);
    this.#offset[row] = at.offset;
    this.#length[row] = at.length;
    if (s.resolution) this.#resolutions.set(row, s.resolution);
    else this.#resolutions.delete(row);
  }

  /** the row of task `id`, or -1 */
  row(id: string): number {
    return this.#ids.find(id);
  }

  /** the id of the task recorded for admission `uid` (exact), or undefined */
  idByAdmission(uid: string): string | undefined {
    const row = this.#uids.find(uid);
    return row === NONE ? undefined : this.#ids.at(row);
  }

  location(row: number): TaskLocation {
    return { offset: this.#offset[row]!, length: this.#length[row]! };
  }

  state(row: number): TaskState {
    return STATES[this.#state[row]!]!;
  }

  resolution(row: number): Resolution | undefined {
    return this.#resolutions.get(row);
  }

  /** a new state; the resolution is replaced when one is given (as a task.resolved record does) */
  setState(row: number, state: TaskState, resolution?: Resolution): void {
    this.#state[row] = STATES.indexOf(state);
    if (resolution) this.#resolutions.set(row, resolution);
  }

  #str(f: Pooled, row: number): string | undefined {
    return this.#refs[f].get(row);
  }

  #recorded(row: number): string {
    return this.#oddTimes.get(row) ?? new Date(this.#recordedAt[row]!).toISOString();
  }

  /** the summary of one row, in the shape (and key order) `summarize` gives */
  summary(row: number): TaskSummary {
    const incident = this.#str('incident', row);
    const resolution = this.#resolutions.get(row);
    const source = SOURCES[this.#source[row]!];
    return {
      id: this.#ids.at(row),
      state: this.state(row),
      namespace: this.#str('namespace', row)!,
      kind: this.#str('kind', row)!,
      name: this.#str('name', row)!,
      writer: this.#str('writer', row)!,
      grantId: this.#str('grantId', row)!,
      ...(incident !== undefined ? { incident } : {}),
      owner: this.#str('owner', row)!,
      recordedAt: this.#recorded(row),
      admissionUid: this.#uids.at(row),
      ...(resolution ? { resolution } : {}),
      ...(source ? { source } : {}),
    };
  }

  /** rows matching the filter, in recording order (no allocation per row beyond the result) */
  #rows(filter: TaskFilter): number[] {
    const state = filter.state === undefined ? NONE : STATES.indexOf(filter.state);
    const namespaces = this.#refs.namespace;
    const ns = filter.namespace ? namespaces.refOf(filter.namespace) : NONE;
    if ((filter.namespace && ns === NONE) || (filter.state !== undefined && state === NONE)) return [];
    const rows: number[] = [];
    const since = filter.recordedSince;
    for (let row = 0; row < this.#size; row += 1) {
      if ((state === NONE || this.#state[row] === state) && (ns === NONE || namespaces.ref(row) === ns) && (since === undefined || this.#recordedMs(row) >= since)) rows.push(row);
    }
    return rows;
  }

  /** summaries matching the filter, oldest first (recording order among equal times) */
  list(filter: TaskFilter): TaskSummary[] {
    const rows = this.#rows(filter);
    if (this.#oddTimes.size === 0) {
      const times = this.#recordedAt;
      rows.sort((a, b) => times[a]! - times[b]! || a - b);
      return rows.map((row) => this.summary(row));
    }
    return rows.map((row) => this.summary(row)).sort((a, b) => compareText(a.recordedAt, b.recordedAt));
  }

  /** Visits the pending tasks without materializing them (metrics count these on every scrape). */
  forEachPending(visit: (grantId: string, recordedAtMs: number, summary: () => TaskSummary) => void): void {
    const pending = STATES.indexOf('pending');
    for (let row = 0; row < this.#size; row += 1) {
      if (this.#state[row] !== pending) continue;
      visit(this.#refs.grantId.get(row)!, this.#recordedMs(row), () => this.summary(row));
    }
  }

  /** recordedAt in epoch ms (a time that did not fit the column is parsed from its text) */
  #recordedMs(row: number): number {
    const ms = this.#recordedAt[row]!;
    return Number.isNaN(ms) ? Date.parse(this.#oddTimes.get(row)!) : ms;
  }
}
