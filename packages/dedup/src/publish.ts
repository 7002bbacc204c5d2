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
  /**
   * The invocation's request id (Lambda keeps it across one event's retries), recorded with the
   * claims: a retry finding claims its earlier attempt left (killed before it could release them)
   * fails with EarlierAttemptClaimsError instead of counting them as another run's, in flight.
   */
  origin?: string;
  /**
   * How long the claims block others: the time the invocation may still run, plus a margin
   * (`invocationLeaseMs`), so that claims a killed invocation left lapse before Lambda's retry.
   */
  leaseMs?: number;
  /**
   * Told what this call did once publishing is over, whether it then returns or throws (a failed
   * publish, EarlierAttemptClaimsError, a failed confirm), so a caller's counts of new and
   * published items include runs that fail after delivering. On a failed publish `fresh` holds
   * only the items the error says were published (confirmed); the others are counted in
   * `released`: they belong to the retry that claims them again. Not called when claiming itself
   * fails: then nothing was published.
   */
  onOutcome?: (outcome: PublishOutcome<T>) => void;
}

/**
 * What publishOnce did: also what it returns. Every input item is counted once:
 * `fresh.length + duplicates + inFlight + released === items.length`.
 */
export interface PublishOutcome<T> {
  /** Claimed and published (on a failed publish: those the error says were, confirmed). */
  fresh: T[];
  duplicates: number;
  inFlight: number;
  /**
   * Claimed but not published: a failed publish handed their claims back for a retry to take
   * (or, if that release failed, left them to lapse with their lease). Neither new nor duplicate
   * in this call, so without this count a failed run's numbers fall short of its input. 0 unless
   * publish threw.
   */
  released: number;
  /**
   * Of `duplicates`, records whose expiry was put a TTL ahead; and those the table refused, with
   * the first error and their ids (ClaimResult).
   */
  refreshed?: number;
  refreshFailed?: number;
  refreshError?: unknown;
  refreshFailedIds?: string[];
}

/** What a producer logs with: Powertools' Logger, or anything with its `warn`. */
export interface WarnLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
}

/**
 * Says, once per publish, that the table refused to renew the expiry of records still seen (no
 * UpdateItem grant, throttling): they will be forgotten, and produced again, a TTL after their
 * last renewal. Counted by the caller too (`DedupRefreshFailed`); the log carries the error.
 */
export function warnRefreshFailed(log: WarnLogger, outcome: Pick<PublishOutcome<unknown>, 'refreshFailed' | 'refreshError'>, records = 'records'): void {
  if (!outcome.refreshFailed) return;
  const error = outcome.refreshError as Error | undefined;
  log.warn(`dedup expiry refresh failed: those ${records} are forgotten, and produced again, a TTL after they were last renewed`, {
    [records]: outcome.refreshFailed,
    error: String(error?.stack ?? error),
  });
}

/**
 * A claim's lease for an invocation with `remainingMs` to run: past that Lambda has ended it, and
 * its last messages have reached the broker or never will. The margin stays under the minute
 * Lambda waits before retrying an asynchronous event, so claims a killed invocation left have
 * lapsed when its retry claims them.
 */
export function invocationLeaseMs(remainingMs: number): number {
  return Math.max(0, remainingMs) + LEASE_MARGIN_MS;
}
const LEASE_MARGIN_MS = 30_000;

/** A Lambda invocation, as far as its claims need it (the handler's `lambda` context). */
export interface ClaimingInvocation {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** `origin` and `leaseMs` for claims made now by `invocation`: what the producers pass publishOnce. */
export function invocationClaims(invocation: ClaimingInvocation): { origin: string; leaseMs: number } {
  return { origin: invocation.awsRequestId, leaseMs: invocationLeaseMs(invocation.getRemainingTimeInMillis()) };
}

/**
 * Claims an earlier attempt of this very invocation left held: it ended (Lambda starts a retry
 * only then) without publishing or releasing them. Not counted as in flight — nobody is
 * publishing them — the invocation fails: Lambda retries it (by then they may have lapsed), and
 * once the retries are spent its on-failure destination gets the event with this reason.
 * (A copy of the same event that Lambda delivered twice, running at the same time, carries the same
 * request id and fails here too: a false alarm, retried, that loses nothing — the other copy publishes.)
 */
export class EarlierAttemptClaimsError extends Error {
  override name = 'EarlierAttemptClaimsError';
  constructor(
    readonly ids: string[],
    readonly lapsesAt: Date,
    readonly outcome: { fresh: number; duplicates: number; inFlight: number },
  ) {
    super(
      `${ids.length} items are still claimed by an earlier attempt of this invocation, which ended without confirming or releasing them ` +
        '(killed, or its confirm or release failed: they may have been published) ' +
        `(or by a copy of this event still running: Lambda may deliver one twice); their claims lapse at ${lapsesAt.toISOString()}: ` +
        'a retry before then fails the same way, and the first run after then (a retry, or the next scheduled run) publishes them (again, if they were) ' +
        `(${outcome.fresh} new items were published, ${outcome.duplicates} were duplicates)`,
    );
  }
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
 * `fresh.length + duplicates + inFlight + released === items.length` (PublishOutcome).
 *
 * Duplicates remain possible, never losses: an item whose outcome the failed publish could not
 * tell (sent, not yet acknowledged when time ran out) is released and may reach the topic twice;
 * and if confirm fails after a successful publish, its error propagates and the claims stay
 * pending until their lease ends, when they are retaken.
 */
export async function publishOnce<T>(args: PublishOnceArgs<T>): Promise<PublishOutcome<T>> {
  const { store, scope, items, idOf, publish } = args;
  const ids = items.map(idOf);
  const result = await store.claim(scope, ids, {
    ...(args.origin !== undefined ? { origin: args.origin } : {}),
    ...(args.leaseMs !== undefined ? { leaseMs: args.leaseMs } : {}),
  });
  const won = new Set(result.claimed);
  // Only the first item with a claimed id: later ones were counted as duplicates by claim.
  const fresh = items.filter((_, i) => won.delete(ids[i] as string));
  // Claimed items not published were released: counted as such, so the outcome adds up to the input.
  const outcomeOf = (published: T[]): PublishOutcome<T> => ({
    fresh: published,
    duplicates: result.duplicates.length,
    inFlight: result.inFlight.length,
    released: fresh.length - published.length,
    ...(result.refreshed !== undefined ? { refreshed: result.refreshed } : {}),
    ...(result.refreshFailed !== undefined ? { refreshFailed: result.refreshFailed, refreshError: result.refreshError } : {}),
    ...(result.refreshFailedIds !== undefined ? { refreshFailedIds: result.refreshFailedIds } : {}),
  });
  const outcome = outcomeOf(fresh);
  if (fresh.length > 0) {
    try {
      await publish(fresh);
    } catch (err) {
      const published = publishedOf(err, fresh.length);
      const doneItems = published ? fresh.filter((_, i) => published[i]) : [];
      const undone = published ? fresh.filter((_, i) => !published[i]).map(idOf) : result.claimed;
      // A failed confirm or release only delays those items until the lease ends (a confirm that
      // failed: a duplicate then); the publish error is the news.
      await Promise.all([
        doneItems.length ? store.confirm(scope, doneItems.map(idOf)).catch(() => undefined) : undefined,
        store.release(scope, undone).catch(() => undefined),
      ]);
      args.onOutcome?.(outcomeOf(doneItems));
      throw err;
    }
    // Published, confirmed or not: a failed confirm publishes them again after their lease, and
    // that is a second publish, counted then.
    try {
      await store.confirm(scope, result.claimed);
    } finally {
      args.onOutcome?.(outcome);
    }
  } else {
    args.onOutcome?.(outcome);
  }
  const earlier = result.heldByEarlierAttempt;
  if (earlier) throw new EarlierAttemptClaimsError(earlier.ids, new Date(earlier.lapsesAt), { fresh: fresh.length, duplicates: outcome.duplicates, inFlight: outcome.inFlight });
  return outcome;
}
