import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactHeap } from '../../src/util/compact-heap.ts';

test('compactHeap gives back the heap that garbage held', () => {
  const held = (() => {
    const garbage = Array.from({ length: 200_000 }, (_, i) => ({ key: `key-${i}`, values: [i, i + 1] }));
    assert.equal(garbage.length, 200_000);
    return process.memoryUsage().heapUsed;
  })();
  compactHeap();
  const after = process.memoryUsage().heapUsed;
  assert.ok(after < held - 10 * 1024 * 1024, `heap used ${held} → ${after} bytes`);
});

test('compactHeap leaves no gc function on the global, even when called twice', () => {
  compactHeap();
  compactHeap();
  assert.equal('gc' in globalThis, false);
});
