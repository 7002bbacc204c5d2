/**
 * Runs `fn` over `items` with at most `limit` in flight. After a failure no new work starts (unless
 * `everyItem`: then the rest still run), and the first error is thrown only once the calls already
 * in flight have settled, so a caller that cleans up after an error sees everything that happened.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>, options: { everyItem?: boolean } = {}): Promise<void> {
  let next = 0;
  let failed = false;
  let error: unknown;
  const worker = async (): Promise<void> => {
    while ((options.everyItem || !failed) && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        if (!failed) error = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw error;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Unprocessed keys/items come back when a table throttles: retry them this many times. */
export const MAX_UNPROCESSED_ATTEMPTS = 8;
/**
 * Confirming comes after the items were published: giving up then means publishing them again
 * once their lease ends, so it tries longer (~4 s of backoff on average, ~8 s at most).
 */
export const MAX_CONFIRM_ATTEMPTS = 14;

/** Exponential backoff with full jitter (25 ms base, 1 s cap), as AWS recommends for batch leftovers. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(1_000, 25 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
