import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox, OUTBOX_FILE } from '../../src/notify/outbox.ts';
import type { Notification } from '../../src/notify/events.ts';
import { NOW } from '../helpers/deps.ts';
import { tempDir } from '../helpers/tmp.ts';

const fact = (i: number): Notification => ({ key: `test.fact:${i}`, type: 'drift.found', at: NOW.toISOString(), summary: `fact ${i}`, data: { i } });
const lines = (dir: string) => readFileSync(join(dir, OUTBOX_FILE), 'utf8').trimEnd().split('\n');

describe('notifications: outbox compaction', () => {
  it('rewrites a long outbox at start to what it still needs: finished keys, open deliveries and their attempts', async () => {
    const dir = tempDir('driftgate-outbox-');
    const now = () => NOW;
    const outbox = await Outbox.open(dir, now);
    for (let i = 0; i < 600; i += 1) await outbox.enqueue(fact(i), ['hooks']);
    const [failing, dead, ...rest] = outbox.pending();
    for (const d of rest) await outbox.record(d, { ok: true, status: 200 });
    await outbox.record(failing!, { ok: false, status: 503, error: 'HTTP 503', nextAt: NOW.getTime() + 5000 });
    await outbox.record(dead!, { ok: false, error: 'unreachable', dead: true });
    await outbox.close();
    assert.equal(lines(dir).length, 1 + 600 + 600);

    const again = await Outbox.open(dir, now);
    assert.equal(lines(dir).length, 1 + 2 + 2 + 2); // created, two lines of known keys, two events with an attempt each
    for (let i = 0; i < 600; i += 1) assert.ok(again.has(`test.fact:${i}`));
    assert.deepEqual(
      again.pending().map((d) => [d.event.key, d.attempts, d.lastError, d.nextAt]),
      [[failing!.event.key, 1, 'HTTP 503', NOW.getTime() + 5000]],
    );
    assert.deepEqual(again.deadLetters().map((d) => [d.event.key, d.attempts, d.lastError]), [[dead!.event.key, 1, 'unreachable']]);
    assert.equal(await again.enqueue(fact(42), ['hooks']), false, 'a finished fact is still known');
    assert.equal(again.createdAt.toISOString(), NOW.toISOString());
    await again.close();

    const third = await Outbox.open(dir, now); // short now: left as it is
    assert.equal(lines(dir).length, 7);
    assert.equal(third.pending().length, 1);
    await third.close();
  });
});
