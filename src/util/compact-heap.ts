/**
 * One memory-reducing garbage collection, for the moment start-up is over: the journal replay, token
 * checks and module loading leave a heap V8 grew for them (and keeps: its memory reducer runs only
 * when the process is idle, which a busy webhook never is). With 10,000 grants and 100,000 tasks this
 * gives back ~45 MiB of RSS before the first request (docs/benchmarks.md).
 *
 * V8's collector is reached the way Node documents for `v8.setFlagsFromString`: `--expose-gc` is set
 * only long enough to create one separate context and take its `gc`, then unset; the application's
 * own global never gets a `gc` function.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let collect: Collect | undefined;

function collector(): Collect {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    try {
      collect = runInNewContext('gc') as Collect;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  return collect;
}

/** Collects all garbage, compacts the heap and returns the freed pages to the system (blocks: ~0.1 s). */
export function compactHeap(): void {
  collector()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
