import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** V8's own semi-space growth factor (flag-definitions.h): doubling. */
const V8_GROWTH_FACTOR = 2;
/** Once capped, the size is looked at again every this many checks (batches). */
const RECHECK_EVERY = 256;

/** Where the cap reads the young generation's size and sets V8's flags: V8 itself, or a test's. */
export interface YoungGenerationHeap {
  /** Bytes of both semi-spaces. */
  youngGenerationBytes(): number;
  setGrowthFactor(factor: number): void;
}

const v8Heap: YoungGenerationHeap = {
  youngGenerationBytes: () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0,
  setGrowthFactor: (factor) => {
    try {
      setFlagsFromString(`--semi-space-growth-factor=${factor}`);
    } catch {
      // A runtime that refuses flag changes keeps V8's growth: more memory, same results.
    }
  },
};

/**
 * Keeps V8's young generation at `semiSpaceMb` × 2 whatever node was started with.
 *
 * Why: Lambda's Node.js bootstrap puts `--max-semi-space-size` on node's command line at a
 * twentieth of the function's memory (51 MB at 1,024 MB, 88 MB at 1,769 MB), and there it wins
 * over NODE_OPTIONS. V8 doubles the young generation, up to that limit, each time as many bytes
 * have survived scavenges as it holds — which a long stream of batches always gets to: at
 * 1,024 MB it reached 128 MB, most of the process's memory, for a working set of a few MB.
 *
 * V8 reads `--semi-space-growth-factor` at every growth, so setting it to 1 once the young
 * generation has grown to the size we want stops it there. (Lowering the maximum after start-up
 * has no effect.) A larger young generation than this buys little here: each scavenge copies
 * the batch in hand, whatever the size.
 *
 * V8 also shrinks the young generation, when it reduces memory (between invocations, say), and
 * with the factor at 1 it would never grow back: a warm 2 GB run then scavenged 32k times instead
 * of 6k. So the size is looked at again now and then, and V8's doubling restored below the cap.
 */
export class YoungGenerationCap {
  readonly #semiSpaceBytes: number;
  readonly #heap: YoungGenerationHeap;
  #capped = false;
  #untilRecheck = 0;

  constructor(semiSpaceMb: number, heap: YoungGenerationHeap = v8Heap) {
    this.#semiSpaceBytes = semiSpaceMb * 2 ** 20;
    this.#heap = heap;
  }

  get capped(): boolean {
    return this.#capped;
  }

  /** Call now and then (every batch): cheap, and once capped a look at the size every 256 calls. */
  check(): void {
    if (this.#capped && --this.#untilRecheck > 0) return;
    this.#untilRecheck = RECHECK_EVERY;
    const atCap = this.#heap.youngGenerationBytes() / 2 >= this.#semiSpaceBytes;
    if (atCap === this.#capped) return;
    this.#capped = atCap;
    this.#heap.setGrowthFactor(atCap ? 1 : V8_GROWTH_FACTOR);
  }
}
