import type { DedupStore } from './store.ts';

export interface PublishOnceArgs<T> {
  store: DedupStore;
  scope: string;
  items: T[];
  idOf: (item: T) => string;
  /** Gets only the items this caller won, each id once, in input order. Must throw if anything was not published. */
  publish: (fresh: T[]) => Promise<void>;
}

/**
 * claim → publish(fresh) → confirm; when publish throws, the claims are released and the error
 * rethrown (so Lambda retries and the retry can claim them again). Every input item is counted
 * once: `fresh.length + duplicates + inFlight === items.length`.
 *
 * If confirm fails after a successful publish, its error propagates; the claims stay pending and
 * are retaken after their lease — at worst a duplicate, never a lost item.
 */
export async function publishOnce<T>(args: PublishOnceArgs<T>): Promise<{ fresh: T[]; duplicates: number; inFlight: number }> {
  const { store, scope, items, idOf, publish } = args;
  const ids = items.map(idOf);
  const result = await store.claim(scope, ids);
  const won = new Set(result.claimed);
  // Only the first item with a claimed id: later ones were counted as duplicates by claim.
  const fresh = items.filter((_, i) => won.delete(ids[i] as string));
  if (fresh.length > 0) {
    try {
      await publish(fresh);
    } catch (err) {
      // A failed release only delays a retry until the lease ends; the publish error is the news.
      await store.release(scope, result.claimed).catch(() => undefined);
      throw err;
    }
    await store.confirm(scope, result.claimed);
  }
  return { fresh, duplicates: result.duplicates.length, inFlight: result.inFlight.length };
}
