/**
 * An append-only file of JSON records, one per line. `append` resolves only once the record is on
 * disk (write + datasync; concurrent appends share one datasync). Replay at open hands back every
 * complete record and cuts off a torn last line (a crash in the middle of a write).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { fsyncDir } from '../util/fsync-dir.ts';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DriftgateError, errorMessage } from '../errors.ts';

interface Queued {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export interface Replay {
  /** records read */
  readonly records: number;
  /** lines that were not JSON (skipped) */
  readonly unreadable: number;
  readonly tornTail: boolean;
}

export class JsonLines {
  readonly file: string;
  readonly #fh: FileHandle;
  #queue: Queued[] = [];
  #flushing: Promise<void> | undefined;

  private constructor(file: string, fh: FileHandle) {
    this.file = file;
    this.#fh = fh;
  }

  /**
   * Opens (creating) the file and replays it. `compact`, given the number of records read, may return
   * a shorter list that says the same: the file is then replaced by it (written, synced, renamed).
   */
  static async open(
    file: string,
    onRecord: (r: Record<string, unknown>) => void,
    compact: (records: number) => readonly Record<string, unknown>[] | undefined = () => undefined,
  ): Promise<{ lines: JsonLines; replay: Replay }> {
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let records = 0;
    let unreadable = 0;
    let tornTail = false;
    if (existsSync(file)) {
      const buf = readFileSync(file);
      const end = buf.lastIndexOf(10) + 1;
      for (const line of buf.toString('utf8', 0, end).split('\n')) {
        if (line === '') continue;
        try {
          onRecord(JSON.parse(line) as Record<string, unknown>);
          records += 1;
        } catch {
          unreadable += 1;
        }
      }
      if (end < buf.length) {
        tornTail = true;
        truncateSync(file, end);
      }
    } else {
      closeSync(openSync(file, 'a', 0o600));
      fsyncDir(dir); // the new directory entry is durable too
    }
    const shorter = compact(records);
    if (shorter) {
      const tmp = `${file}.compact`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeFileSync(fd, shorter.map((r) => `${JSON.stringify(r)}\n`).join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      fsyncDir(dir);
    }
    return { lines: new JsonLines(file, await open(file, 'a', 0o600)), replay: { records, unreadable, tornTail } };
  }

  append(record: Record<string, unknown>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ line: `${JSON.stringify(record)}\n`, resolve, reject });
      this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      try {
        await this.#fh.write(batch.map((q) => q.line).join(''));
        await this.#fh.datasync();
        for (const q of batch) q.resolve();
      } catch (err) {
        const e = new DriftgateError('STORE_UNAVAILABLE', `${this.file}: write failed: ${errorMessage(err)}`, { cause: err });
        for (const q of batch) q.reject(e);
      }
    }
  }

  async close(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await this.#fh.close();
  }
}
