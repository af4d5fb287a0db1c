import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { chainHash, Journal, readJournal, type OpenAppend } from '../../src/store/journal.ts';
import { tempDir } from '../helpers/tmp.ts';

const file = () => join(tempDir('driftgate-journal-'), 'journal.jsonl');

describe('journal (SPEC §7)', () => {
  it('appends one JSON record per line, chained by hash, and replays them', async () => {
    const f = file();
    const { journal } = await Journal.open(f);
    await journal.append('a', { n: 1 });
    await journal.append('b', { '10': 'integer-like keys', '2': 'reordered by JSON.parse' });
    await journal.close();
    const lines = readFileSync(f, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l));
    const r = readJournal(readFileSync(f, 'utf8'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.entries.map((e) => e.type), ['a', 'b']);
    const reopened = await Journal.open(f);
    assert.equal(reopened.reading.count, 2);
    await reopened.journal.append('c', {});
    await reopened.journal.close();
    assert.equal(readJournal(readFileSync(f, 'utf8')).entries.length, 3);
  });

  it('group-commits concurrent appends in order, every one durable and chained', async () => {
    const f = file();
    const { journal } = await Journal.open(f);
    const done = await Promise.all(Array.from({ length: 200 }, (_, i) => journal.append('t', { i })));
    await journal.close();
    assert.deepEqual(done.map((e) => e.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    const r = readJournal(readFileSync(f, 'utf8'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.entries.map((e) => (e.data as { i: number }).i), Array.from({ length: 200 }, (_, i) => i));
  });

  it('cuts off a torn last line (a crash mid-write) and keeps every complete record', async () => {
    const f = file();
    const { journal } = await Journal.open(f);
    await journal.append('a', { n: 1 });
    await journal.close();
    appendFileSync(f, '{"hash":"abc","prev":"0000');
    const { journal: j2, reading } = await Journal.open(f);
    assert.equal(reading.tornTail, true);
    assert.equal(reading.count, 1);
    await j2.append('b', { n: 2 });
    await j2.close();
    const r = readJournal(readFileSync(f, 'utf8'));
    assert.deepEqual(r.problems, []);
    assert.equal(r.entries.length, 2);
  });

  it('detects an edited record (hash mismatch) and trusts nothing after it', async () => {
    const f = file();
    const { journal } = await Journal.open(f);
    for (let i = 0; i < 3; i += 1) await journal.append('t', { ttl: '30m', i });
    await journal.close();
    writeFileSync(f, readFileSync(f, 'utf8').replace('"i":1', '"i":9'));
    const r = readJournal(readFileSync(f, 'utf8'));
    assert.deepEqual(r.problems, ['line 2: hash mismatch (record edited)']);
    assert.equal(r.entries.length, 1);
  });

  it('detects a deleted record (chain broken)', async () => {
    const f = file();
    const { journal } = await Journal.open(f);
    for (let i = 0; i < 3; i += 1) await journal.append('t', { i });
    await journal.close();
    const lines = readFileSync(f, 'utf8').split('\n');
    writeFileSync(f, [lines[0], lines[2], ''].join('\n'));
    assert.match(readJournal(readFileSync(f, 'utf8')).problems[0]!, /line 2: chain broken/);
  });

  it('detects a record whose hash was recomputed but whose sequence was not', async () => {
    const f = file();
    const { journal } = await Journal.open(f);
    await journal.append('t', { i: 0 });
    await journal.close();
    const first = JSON.parse(readFileSync(f, 'utf8').split('\n')[0]!) as { hash: string };
    const body = JSON.stringify({ seq: 7, at: '2026-11-24T00:00:00.000Z', type: 'forged', data: {} });
    appendFileSync(f, `{"hash":"${chainHash(first.hash, body)}","prev":"${first.hash}","body":${body}}\n`);
    assert.match(readJournal(readFileSync(f, 'utf8')).problems[0]!, /sequence 7, expected 2/);
  });

  it('rejects the append when the write fails, and every append after it', async () => {
    let fail = false;
    const failing: OpenAppend = async (path) => {
      const fh = await open(path, 'a');
      return {
        write: (d: string) => (fail ? Promise.reject(new Error('ENOSPC: no space left on device')) : fh.write(d)),
        datasync: () => fh.datasync(),
        close: () => fh.close(),
      };
    };
    const { journal } = await Journal.open(file(), undefined, failing);
    await journal.append('ok', {});
    fail = true;
    await assert.rejects(journal.append('lost', {}), { code: 'STORE_UNAVAILABLE', message: /ENOSPC/ });
    fail = false;
    await assert.rejects(journal.append('after', {}), { code: 'STORE_UNAVAILABLE', message: /unavailable/ });
    await journal.close();
  });
});
