/**
 * The streamed replay (Journal.open, one reused 1 MiB buffer) reads exactly what reading the whole file
 * at once reads, wherever records fall against the buffer: straddling it, longer than it, torn at the end.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainKeyFrom } from '../../src/keys/journal-key.ts';
import { Journal, readJournal, readRecordAt, type JournalEntry } from '../../src/store/journal.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = chainKeyFrom(Buffer.alloc(32, 9));
const MiB = 1 << 20;

/** record payload sizes, in bytes of text */
const cases: { name: string; sizes: number[]; tornTail?: number }[] = [
  { name: 'small records straddling every 1 MiB boundary', sizes: Array.from({ length: 3000 }, (_, i) => 700 + (i % 13) * 97) },
  { name: 'one record longer than the buffer, then small ones', sizes: [3 * MiB, 10, 20, 30] },
  { name: 'records of exactly the buffer size around small ones', sizes: [10, MiB, 5, MiB, 5] },
  { name: 'two records longer than the buffer in a row', sizes: [MiB + 1, 2 * MiB + 3] },
  { name: 'a torn last line longer than the buffer', sizes: [100, 200], tornTail: 2.5 * MiB },
  { name: 'a short torn last line after a long record', sizes: [1.5 * MiB], tornTail: 40 },
];

describe('journal replay reads records across its buffer', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const dir = tempDir('driftgate-replay-');
      const file = join(dir, 'journal.jsonl');
      const o = { key: KEY, anchorFile: join(dir, 'keys', 'journal.anchor') };
      const { journal } = await Journal.open(file, o);
      for (const [i, size] of c.sizes.entries()) await journal.append('t', { i, text: 'é'.repeat(Math.floor(size / 2)) });
      await journal.close();
      if (c.tornTail) appendFileSync(file, `{"mac":"${'a'.repeat(c.tornTail)}`);

      const whole = readJournal(readFileSync(file, 'utf8'), KEY);
      const streamed: { entry: JournalEntry; offset: number; length: number }[] = [];
      const reopened = await Journal.open(file, { ...o, onEntry: (entry, offset, length) => streamed.push({ entry, offset, length }) });
      await reopened.journal.close();

      assert.deepEqual(reopened.reading.problems, []);
      assert.equal(reopened.reading.count, c.sizes.length);
      assert.equal(reopened.reading.tornTail, c.tornTail !== undefined);
      assert.deepEqual(streamed.map((s) => s.entry), whole.entries);
      const fd = openSync(file, 'r');
      try {
        for (const s of streamed) assert.deepEqual(readRecordAt(fd, s.offset, s.length), s.entry);
      } finally {
        closeSync(fd);
      }
    });
  }
});
