/**
 * Long synchronous work cut into slices: `turn()` gives the event loop a turn (setImmediate) once
 * `ms` have passed since the last one, so that timers still fire meanwhile — the claim's renewals
 * (claim-lease.ts), the deadline's abort. Resolves true when it gave one.
 */
export class TimeSlices {
  readonly #ms: number;
  #end: number;

  constructor(ms = 20) {
    this.#ms = ms;
    this.#end = performance.now() + ms;
  }

  /**
   * Whether a turn is due. A loop over many small items asks this first: turn() is an async call,
   * a promise each time even when it has nothing to do.
   */
  get due(): boolean {
    return performance.now() >= this.#end;
  }

  async turn(): Promise<boolean> {
    if (!this.due) return false;
    await new Promise((resolve) => setImmediate(resolve));
    this.#end = performance.now() + this.#ms;
    return true;
  }
}
