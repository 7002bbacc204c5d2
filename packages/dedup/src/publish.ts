import type { DedupStore } from './store.ts';

export interface PublishOnceArgs<T> {
  store: DedupStore;
  scope: string;
  items: T[];
  idOf: (item: T) => string;
  /**
   * Gets only the items this caller won, each id once, in input order. Must throw if anything was
   * not published; the error may say which items were (`published`, see PartiallyPublished).
   */
  publish: (fresh: T[]) => Promise<void>;
}

/**
 * What a failed publish may carry: per item of `fresh`, whether it is known to be published (a
 * Kafka delivery report said so). Those are confirmed, only the others released: without it, a
 * flush that ran out of time after most deliveries had every item published again on the retry.
 */
export interface PartiallyPublished {
  published: readonly boolean[];
}

function publishedOf(err: unknown, count: number): readonly boolean[] | undefined {
  const published = (err as Partial<PartiallyPublished> | null)?.published;
  return Array.isArray(published) && published.length === count ? published : undefined;
}

/**
 * claim → publish(fresh) → confirm; when publish throws, the claims of the items it did not
 * publish are released (those it says it did are confirmed) and the error rethrown, so Lambda
 * retries and the retry can claim them again. Every input item is counted once:
 * `fresh.length + duplicates + inFlight === items.length`.
 *
 * Duplicates remain possible, never losses: an item whose outcome the failed publish could not
 * tell (sent, not yet acknowledged when time ran out) is released and may reach the topic twice;
 * and if confirm fails after a successful publish, its error propagates and the claims stay
 * pending until their lease ends, when they are retaken.
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
      const published = publishedOf(err, fresh.length);
      const done = published ? fresh.filter((_, i) => published[i]).map(idOf) : [];
      const undone = published ? fresh.filter((_, i) => !published[i]).map(idOf) : result.claimed;
      // A failed confirm or release only delays those items until the lease ends (a confirm that
      // failed: a duplicate then); the publish error is the news.
      await Promise.all([
        done.length ? store.confirm(scope, done).catch(() => undefined) : undefined,
        store.release(scope, undone).catch(() => undefined),
      ]);
      throw err;
    }
    await store.confirm(scope, result.claimed);
  }
  return { fresh, duplicates: result.duplicates.length, inFlight: result.inFlight.length };
}
