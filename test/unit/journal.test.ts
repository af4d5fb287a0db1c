import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { chainKeyFrom, loadChainKey } from '../../src/keys/journal-key.ts';
import { formatAnchor, GENESIS, Journal, parseAnchor, readAnchor, readJournal, type AppendHandle, type OpenAppend } from '../../src/store/journal.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY = chainKeyFrom(Buffer.alloc(32, 7));

function paths() {
  const dir = tempDir('driftgate-journal-');
  return { file: join(dir, 'journal.jsonl'), anchorFile: join(dir, 'keys', 'journal.anchor') };
}
const opts = (p: ReturnType<typeof paths>, openFile?: OpenAppend) => ({ key: KEY, anchorFile: p.anchorFile, ...(openFile ? { openFile } : {}) });
const read = (p: ReturnType<typeof paths>) => readJournal(readFileSync(p.file, 'utf8'), KEY);

async function journalWith(p: ReturnType<typeof paths>, n: number): Promise<void> {
  const { journal } = await Journal.open(p.file, opts(p));
  for (let i = 0; i < n; i += 1) await journal.append('t', { i, ttl: '30m' });
  await journal.close();
}

describe('journal (SPEC §7)', () => {
  it('appends one JSON record per line, chained by a keyed MAC, and replays them', async () => {
    const p = paths();
    const { journal } = await Journal.open(p.file, opts(p));
    await journal.append('a', { n: 1 });
    await journal.append('b', { '10': 'integer-like keys', '2': 'reordered by JSON.parse' });
    await journal.close();
    const lines = readFileSync(p.file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l));
    const r = read(p);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.entries.map((e) => e.type), ['a', 'b']);
    const reopened = await Journal.open(p.file, opts(p));
    assert.equal(reopened.reading.count, 2);
    await reopened.journal.append('c', {});
    await reopened.journal.close();
    assert.equal(read(p).entries.length, 3);
  });

  it('group-commits concurrent appends in order, every one durable and chained', async () => {
    const p = paths();
    const { journal } = await Journal.open(p.file, opts(p));
    const done = await Promise.all(Array.from({ length: 200 }, (_, i) => journal.append('t', { i })));
    await journal.close();
    assert.deepEqual(done.map((e) => e.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    const r = read(p);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.entries.map((e) => (e.data as { i: number }).i), Array.from({ length: 200 }, (_, i) => i));
    assert.deepEqual(readAnchor(p.anchorFile), { count: 200, head: r.lastHash });
  });

  it('cuts off a torn last line (a crash mid-write) and keeps every complete record', async () => {
    const p = paths();
    await journalWith(p, 1);
    appendFileSync(p.file, '{"mac":"abc","prev":"0000');
    const { journal, reading } = await Journal.open(p.file, opts(p));
    assert.equal(reading.tornTail, true);
    assert.equal(reading.count, 1);
    await journal.append('b', { n: 2 });
    await journal.close();
    const r = read(p);
    assert.deepEqual(r.problems, []);
    assert.equal(r.entries.length, 2);
  });

  it('detects an edited record (MAC mismatch) and trusts nothing after it', async () => {
    const p = paths();
    await journalWith(p, 3);
    writeFileSync(p.file, readFileSync(p.file, 'utf8').replace('"i":1', '"i":9'));
    const r = read(p);
    assert.deepEqual(r.problems, ['line 2: MAC mismatch (record edited, or written without the chain key)']);
    assert.equal(r.entries.length, 1);
  });

  it('detects a deleted record (chain broken)', async () => {
    const p = paths();
    await journalWith(p, 3);
    const lines = readFileSync(p.file, 'utf8').split('\n');
    writeFileSync(p.file, [lines[0], lines[2], ''].join('\n'));
    assert.match(read(p).problems[0]!, /line 2: chain broken/);
  });

  it('detects a chain recomputed without the key (a plain SHA-256 or another key)', async () => {
    const p = paths();
    await journalWith(p, 2);
    const other = chainKeyFrom(Buffer.alloc(32, 9));
    let prev = GENESIS;
    const out = readFileSync(p.file, 'utf8').trim().split('\n').map((line) => {
      const body = line.slice(line.indexOf('"body":') + 7, -1).replace('"i":0', '"i":5');
      const mac = other.mac(prev, body);
      const rewritten = `{"mac":"${mac}","prev":"${prev}","body":${body}}`;
      prev = mac;
      return rewritten;
    });
    writeFileSync(p.file, `${out.join('\n')}\n`);
    assert.match(read(p).problems[0]!, /line 1: MAC mismatch/);
  });

  it('detects a record with a valid MAC but the wrong sequence number', async () => {
    const p = paths();
    await journalWith(p, 1);
    const first = JSON.parse(readFileSync(p.file, 'utf8').split('\n')[0]!) as { mac: string };
    const body = JSON.stringify({ seq: 7, at: '2026-11-24T00:00:00.000Z', type: 'forged', data: {} });
    appendFileSync(p.file, `{"mac":"${KEY.mac(first.mac, body)}","prev":"${first.mac}","body":${body}}\n`);
    assert.match(read(p).problems[0]!, /sequence 7, expected 2/);
  });

  it('detects a cut tail against the anchor at open, and then refuses every append', async () => {
    const p = paths();
    await journalWith(p, 3);
    const text = readFileSync(p.file, 'utf8');
    truncateSync(p.file, text.lastIndexOf('\n', text.length - 2) + 1);
    assert.deepEqual(read(p).problems, [], 'the chain alone cannot see a cut tail');
    const { journal, reading } = await Journal.open(p.file, opts(p));
    assert.match(reading.problems[0]!, /anchor .* says 3 records, the journal has 2 trusted: records 3–3 are missing/);
    assert.match(journal.unavailable()!, /failed verification/);
    await assert.rejects(journal.append('t', {}), { code: 'STORE_UNAVAILABLE', message: /failed verification/ });
    await journal.close();
    assert.equal(readAnchor(p.anchorFile)!.count, 3, 'the anchor is not moved back');
  });

  it('anchors an empty journal left without an anchor (a crash at first start), so a later crash is no false alarm', async () => {
    const p = paths();
    await journalWith(p, 0);
    rmSync(p.anchorFile);
    const { journal } = await Journal.open(p.file, opts(p));
    assert.deepEqual(readAnchor(p.anchorFile), { count: 0, head: GENESIS });
    await journal.append('t', {}); // then killed before the anchor is rewritten: the anchor still says 0
    const again = await Journal.open(p.file, opts(p));
    assert.deepEqual(again.reading.problems, []);
    await Promise.all([journal.close(), again.journal.close()]);
  });

  it('detects a deleted or unreadable anchor when the journal has records, and opens read-only', async () => {
    const p = paths();
    await journalWith(p, 2);
    rmSync(p.anchorFile);
    const gone = await Journal.open(p.file, opts(p));
    assert.match(gone.reading.problems[0]!, /anchor .* is missing but the journal has 2 records/);
    await gone.journal.close();
    writeFileSync(p.anchorFile, '{"count":');
    const garbled = await Journal.open(p.file, opts(p));
    assert.match(garbled.reading.problems[0]!, /journal anchor .* is unreadable/);
    await assert.rejects(garbled.journal.append('t', {}), { code: 'STORE_UNAVAILABLE' });
    await garbled.journal.close();
  });

  it('checks an outside anchor (seq:mac) against the journal', async () => {
    const p = paths();
    const { journal } = await Journal.open(p.file, opts(p));
    const rec = await journal.append('t', { i: 0 });
    await journal.append('t', { i: 1 });
    await journal.close();
    const anchor = parseAnchor(formatAnchor({ count: rec.seq, head: rec.mac }));
    assert.deepEqual(readJournal(readFileSync(p.file, 'utf8'), KEY, [{ ...anchor, from: 'annotation' }]).problems, []);
    const wrong = { count: 1, head: 'ffffffffffff', from: 'annotation' };
    assert.match(readJournal(readFileSync(p.file, 'utf8'), KEY, [wrong]).problems[0]!, /record 1 is not the one annotation names/);
    assert.throws(() => parseAnchor('12:abc'), { code: 'INPUT_INVALID' });
  });

  it('refuses a journal in the unkeyed format of older versions, saying what to do', async () => {
    const p = paths();
    writeFileSync(p.file, `{"hash":"${'a'.repeat(64)}","prev":"${GENESIS}","body":{"seq":1,"at":"x","type":"t","data":{}}}\n`);
    await assert.rejects(Journal.open(p.file, opts(p)), { code: 'JOURNAL_LEGACY', message: /older driftgate .*docs\/storage\.md/ });
  });

  it('keeps the chain key with the keys, 32 bytes, mode 0600, and refuses a truncated one', async () => {
    const dir = tempDir('driftgate-ck-');
    const k = loadChainKey(dir, true);
    assert.equal(k.mac(GENESIS, 'x'), loadChainKey(dir, false).mac(GENESIS, 'x'));
    writeFileSync(join(dir, 'journal-chain.key'), 'AAAA');
    assert.throws(() => loadChainKey(dir, false), { code: 'INPUT_INVALID' });
    assert.throws(() => loadChainKey(tempDir('driftgate-ck-'), false), /no journal chain key/);
  });
});

/** A file handle whose writes run out of space after `budget` bytes: short writes, then ENOSPC. */
function fullDisk(state: { budget: number }): OpenAppend {
  return async (path) => {
    const fh = await open(path, 'r+');
    const h: AppendHandle = {
      write: async (buf, offset, length, position) => {
        if (state.budget <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        const n = Math.min(length, state.budget);
        state.budget -= n;
        return fh.write(buf, offset, n, position);
      },
      datasync: () => fh.datasync(),
      truncate: (len) => fh.truncate(len),
      close: () => fh.close(),
      freeBytes: () => Math.max(state.budget, 0),
    };
    return h;
  };
}

describe('journal on a full disk', () => {
  it('continues short writes: a record written in pieces is acknowledged whole', async () => {
    const p = paths();
    let calls = 0;
    const pieces: OpenAppend = async (path) => {
      const fh = await open(path, 'r+');
      return {
        write: async (buf, offset, length, position) => {
          calls += 1;
          return fh.write(buf, offset, Math.min(length, 7), position);
        },
        datasync: () => fh.datasync(),
        truncate: (len) => fh.truncate(len),
        close: () => fh.close(),
      };
    };
    const { journal } = await Journal.open(p.file, opts(p, pieces));
    await journal.append('t', { text: 'x'.repeat(100) });
    await journal.close();
    assert.ok(calls > 10);
    assert.equal(read(p).count, 1);
  });

  it('refuses a record that did not fit, cuts the torn bytes back, reports itself unavailable, and recovers once writes succeed', async () => {
    const p = paths();
    const state = { budget: 1 << 20 };
    const { journal } = await Journal.open(p.file, opts(p, fullDisk(state)));
    await journal.append('ok', { i: 0 });
    state.budget = 40; // room for part of the next line only
    await assert.rejects(journal.append('lost', { i: 1 }), { code: 'STORE_UNAVAILABLE', message: /nothing was recorded/ });
    assert.match(journal.unavailable() ?? '', /the last write failed/);
    assert.equal(read(p).count, 1, 'the torn bytes were cut');
    assert.equal(read(p).tornTail, false);
    state.budget = 1 << 20;
    assert.equal(journal.unavailable(), undefined, 'space is back: ready to try again');
    await journal.append('after', { i: 2 });
    assert.equal(journal.unavailable(), undefined);
    await journal.close();
    assert.deepEqual(read(p).entries.map((e) => e.type), ['ok', 'after']);
  });

  it('loses no acknowledged record across repeated full-disk episodes and restarts', async () => {
    const p = paths();
    const acknowledged: number[] = [];
    let attempted = 0;
    for (let episode = 0; episode < 6; episode += 1) {
      const state = { budget: 600 + episode * 137 };
      const { journal } = await Journal.open(p.file, opts(p, fullDisk(state)));
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => journal.append('task.recorded', { n: attempted++ })));
      for (const r of results) if (r.status === 'fulfilled') acknowledged.push((r.value.data as { n: number }).n);
      assert.ok(results.some((r) => r.status === 'rejected'), 'the disk filled up during the episode');
      await journal.close();
    }
    const r = read(p);
    assert.deepEqual(r.problems, []);
    const stored = new Set(r.entries.map((e) => (e.data as { n: number }).n));
    assert.deepEqual(acknowledged.filter((n) => !stored.has(n)), []);
    assert.equal(stored.size, acknowledged.length, 'only acknowledged records are stored');
  });
});
