import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

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
 */
export class YoungGenerationCap {
  readonly #semiSpaceBytes: number;
  #capped = false;

  constructor(semiSpaceMb: number) {
    this.#semiSpaceBytes = semiSpaceMb * 2 ** 20;
  }

  get capped(): boolean {
    return this.#capped;
  }

  /** Call now and then (every batch): cheap, and nothing at all once capped. */
  check(): void {
    if (this.#capped) return;
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    // new_space counts both semi-spaces.
    if (young && young.space_size / 2 >= this.#semiSpaceBytes) {
      this.#capped = true;
      try {
        setFlagsFromString('--semi-space-growth-factor=1');
      } catch {
        // A runtime that refuses flag changes keeps V8's growth: more memory, same results.
      }
    }
  }
}
