import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Growth of the old generation past what survived a full collection before the next one: 1.5×. */
export const OLD_GENERATION_GROWING_PERCENT = 50;

/** Where the settings go: V8 itself, or a test's. */
export interface OldGenerationHeap {
  setFlags(flags: string): void;
  /** One full collection, now. */
  collect(): void;
}

const v8Heap: OldGenerationHeap = {
  setFlags: setFlagsFromString,
  collect: () => {
    // Lambda's bootstrap starts node with --expose-gc (and so do laminar dev and the benchmark).
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') return exposed();
    // Node started without --expose-gc: gc() is exposed to a fresh context alone, taken, and the
    // flag withdrawn again, so that no later context (nor this one) sees a gc it was not given.
    setFlagsFromString('--expose-gc');
    try {
      (runInNewContext('gc') as () => void)();
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  },
};

/**
 * Keeps V8's old generation close to what the function holds, once, at init.
 *
 * Why: until its first full collection V8 lets the old generation grow to an initial limit that
 * scales with the heap's maximum — and Lambda's Node bootstrap gives the old generation ~90 % of
 * 1,769 MB — and afterwards to up to 4× what survived (the factor V8 picks when the limit is far
 * away). The validator's live data is a few MB, but a long file's settling and spill buffers pass
 * through the old generation, which then grows around their garbage: on Node 22 (whose initial
 * limit is higher than Node 20's) the 2 GB benchmark peaked with 44 MB of heap, against 30 MB on
 * Node 20. One full collection at init (the code, the SDK and the clients loaded: a few ms, once
 * per environment) sets the limit from the real live size, and the growth factor at 1.5× keeps it
 * there.
 * Neither can go through Lambda's NODE_OPTIONS (`--initial-old-space-size` would, on a command
 * line, but V8 reads it only at start-up), and V8 reads the growth flag at every collection, so
 * both are done from here, like the young generation's cap.
 */
export function settleOldGeneration(percent = OLD_GENERATION_GROWING_PERCENT, heap: OldGenerationHeap = v8Heap): boolean {
  try {
    heap.setFlags(`--heap-growing-percent=${percent}`);
    heap.collect();
    return true;
  } catch {
    // No gc() to be had (a runtime that refuses flag changes): V8's own limits, more memory, same results.
    return false;
  }
}
