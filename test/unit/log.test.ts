import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { LogSink } from '../helpers/deps.ts';

const flushed = () => new Promise((resolve) => setImmediate(resolve));

describe('log lines', () => {
  it('stamps each line with the ISO time of its millisecond', async () => {
    const sink = new LogSink();
    const clock = mock.timers;
    clock.enable({ apis: ['Date'], now: Date.parse('2026-11-25T19:00:00.000Z') });
    try {
      const log = createLogger('info', sink.stream);
      log.info('first');
      log.info('same millisecond');
      clock.tick(1);
      log.info('next millisecond');
      clock.tick(60_000);
      log.info('a minute on');
    } finally {
      clock.reset();
    }
    await flushed();
    assert.deepEqual(
      sink.lines.map((l) => [l.msg, l.time]),
      [
        ['first', '2026-11-25T19:00:00.000Z'],
        ['same millisecond', '2026-11-25T19:00:00.000Z'],
        ['next millisecond', '2026-11-25T19:00:00.001Z'],
        ['a minute on', '2026-11-25T19:01:00.001Z'],
      ],
    );
  });

  it('redacts a token field', async () => {
    const sink = new LogSink();
    createLogger('info', sink.stream).info({ token: 'eyJ-secret' }, 'grant issued');
    await flushed();
    assert.equal(sink.lines[0]!.token, '[redacted]');
    assert.doesNotMatch(sink.text, /eyJ-secret/);
  });
});
