import { DeadlineExceededError } from './errors.ts';

export interface RemainingTime {
  getRemainingTimeInMillis(): number;
}

/**
 * Stops work while there is still time to clean up (abort an upload, release a claim) — Lambda's
 * own timeout kills the process with no chance to do either.
 */
export class Deadline {
  #stop: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;

  constructor(
    private readonly context: RemainingTime,
    /** Time kept back for cleanup and the response. */
    readonly reserveMs: number,
  ) {}

  /**
   * Aborted, with a DeadlineExceededError as its reason, once the remaining time reaches the
   * reserve: hand it to requests and streams in flight, so they stop while there is still time to
   * clean up. Its timer starts with the first read and ends with the invocation (`dispose`).
   */
  get signal(): AbortSignal {
    // Read after dispose() (the invocation is over): a signal, but no timer left behind.
    if (this.#stop === undefined && this.#disposed) this.#stop = new AbortController();
    if (this.#stop === undefined) {
      const stop = new AbortController();
      this.#stop = stop;
      this.#timer = setTimeout(
        () => stop.abort(new DeadlineExceededError(`stopped before the function timeout; ${this.context.getRemainingTimeInMillis()} ms left`)),
        Math.max(0, this.remainingMs()),
      );
    }
    return this.#stop.signal;
  }

  /** Ends the signal's timer; defineHandler calls it when the invocation ends. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
  }

  remainingMs(): number {
    return this.context.getRemainingTimeInMillis() - this.reserveMs;
  }

  check(what: string): void {
    const left = this.remainingMs();
    if (left <= 0) {
      throw new DeadlineExceededError(
        `stopped ${what}: ${this.context.getRemainingTimeInMillis()} ms left, ${this.reserveMs} ms are kept for cleanup`,
      );
    }
  }
}

/** A reserve that scales with the timeout: 10 % of the remaining time, between 1 s and 10 s. */
export function defaultReserveMs(remainingMs: number): number {
  return Math.min(10_000, Math.max(1_000, Math.floor(remainingMs * 0.1)));
}

/**
 * Why `signal` stopped the work, when it did with an Error (the handler's DeadlineExceededError,
 * say): the error to report instead of the SDK's bare "Request aborted", which names no cause.
 */
export function stopReason(signal: AbortSignal | undefined): Error | undefined {
  return signal?.aborted && signal.reason instanceof Error ? signal.reason : undefined;
}
