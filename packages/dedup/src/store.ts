import { randomUUID } from 'node:crypto';
import { type AttributeValue, ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { backoff, chunk, forEachLimit, MAX_CONFIRM_ATTEMPTS } from './limits.ts';
import { BATCH_WRITE_ITEMS, checkScope, documentClientOf, keyOf, PK, readConsistent, TTL, toNumber } from './table.ts';

export interface DedupOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long a confirmed id stays remembered. Default 7 days. */
  ttlSeconds?: number;
  /**
   * How long a claim blocks others before it may be taken over, when claim() is not given a
   * `leaseMs`. Default 900 s: longer than any Lambda timeout.
   */
  leaseSeconds?: number;
  /** Conditional puts in flight at once (default 64, within the client's 64 keep-alive sockets). */
  concurrency?: number;
  /** Clock in epoch milliseconds (tests move it). */
  now?: () => number;
}

/**
 * Every input id lands in exactly one list, so the lengths add up to `ids.length`: a repeat of an
 * id within the same call counts as a duplicate.
 */
export interface ClaimResult {
  /** Ids this caller now holds: publish them, then confirm (or release on failure). */
  claimed: string[];
  /** Ids already done (within their TTL), and repeats within the batch. */
  duplicates: string[];
  /** Ids another caller holds under a live lease (it is publishing them, or crashed less than a lease ago). */
  inFlight: string[];
  /**
   * Of `inFlight`, the ids held under this claim's own `origin`: by an earlier attempt of the same
   * invocation, which ended without confirming or releasing them (killed, or its confirm or release
   * failed: they may have been published).
   * Present only when there are any; `lapsesAt` (epoch ms) is when the last of their leases ends.
   */
  heldByEarlierAttempt?: { ids: string[]; lapsesAt: number };
  /** Of `duplicates`, how many had their expiry put a TTL ahead (they were past half of it); present only when any. */
  refreshed?: number;
  /**
   * Of `duplicates`, how many were due a refresh the table refused (throttled, or the role may not
   * UpdateItem): they keep their expiry, and are forgotten and published again once it passes
   * while still listed. Present only when any, with the first such error in `refreshError`: this
   * is a fault to report, not the lost race a refresh may meet.
   */
  refreshFailed?: number;
  refreshError?: unknown;
  /**
   * Those ids (as many as `refreshFailed`), so that a caller can tell which of its sources still
   * lists an item whose record will lapse: an RSS feed that saved validators for it would answer
   * 304 until the record is gone, and the item would be published again.
   */
  refreshFailedIds?: string[];
}

export interface ClaimOptions {
  /**
   * What the claims are made for, recorded with them: an invocation's request id, which Lambda
   * keeps across the retries of one event, so a retry can tell claims its earlier attempt left.
   */
  origin?: string;
  /** How long these claims block others (default: the store's `leaseSeconds`). */
  leaseMs?: number;
}

const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
const DEFAULT_LEASE_SECONDS = 900;

// `status` and `owner` are DynamoDB reserved words, so expressions name attributes indirectly.
const NAMES = { '#pk': PK, '#st': 'status', '#lease': 'leaseUntil', '#exp': TTL };
/** `owner` is one of DynamoDB's reserved words; apart from NAMES, as an expression must use every name it is given. */
const OWNER = 'owner';
const NAMES_FOR_READ = { ...NAMES, '#owner': OWNER, '#origin': 'origin' };

type Stored = { status?: string; leaseUntil?: number; expiresAt?: number; owner?: string; origin?: string };
type State = 'free' | 'done' | 'held';

/**
 * Remembers which ids of a scope were published, in a DynamoDB table of kind `dedup`
 * (`pk = "<scope>#<id>"`, `status`, `leaseUntil` ms, `owner`, `expiresAt` epoch s = the TTL attribute).
 *
 * Ordering — claim, publish, confirm — and why:
 * - claim BEFORE publishing, with a conditional put that only succeeds when the id is absent,
 *   expired, or held under an expired lease. DynamoDB serializes conditional writes per key, so of
 *   two concurrent invocations with overlapping ids exactly one wins each id and only the winner
 *   publishes it: never two publishers of one item. (Claiming after a successful publish instead
 *   would let both invocations publish before either records anything.)
 * - confirm AFTER publishing turns the claim into `done` with the TTL.
 * - a failed publish releases the claims (only those still ours), so a retry takes them again —
 *   except those the failure says were published (publishOnce confirms them).
 * - duplicates (at-least-once) come two ways: a crash between publish and confirm leaves a
 *   `pending` claim that another invocation takes over after its lease and publishes again; and
 *   an item whose publish outcome was unknown (sent, unacknowledged when the flush ran out of
 *   time) is released and may be published twice. No order loses an item, because nothing is
 *   `done` before it was published.
 *
 * Round trips: ids are deduplicated in memory, then one consistent BatchGetItem per 100 ids (all in
 * parallel) drops those done or in flight; only the rest are claimed, `concurrency` at a time. In
 * the steady state, where most ids were seen, that is ~N/100 parallel reads plus a few writes.
 *
 * TTL: items past `expiresAt` count as absent, because DynamoDB deletes them only eventually (up
 * to days later) and emulators such as dynalite never do.
 */
export class DedupStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly ttlSeconds: number;
  private readonly leaseMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  /** Owner token of each claim this store holds and has not confirmed or released yet. */
  private readonly held = new Map<string, string>();

  constructor(options: DedupOptions) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.leaseMs = (options.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
    this.concurrency = Math.max(1, options.concurrency ?? 64);
    this.now = options.now ?? Date.now;
    if (!(this.ttlSeconds > 0) || !(this.leaseMs > 0)) throw new RangeError('ttlSeconds and leaseSeconds must be positive');
  }

  async claim(scope: string, ids: string[], options: ClaimOptions = {}): Promise<ClaimResult> {
    checkScope(scope);
    const leaseMs = options.leaseMs ?? this.leaseMs;
    if (!(leaseMs > 0)) throw new RangeError(`leaseMs must be positive: ${leaseMs}`);
    const { origin } = options;
    const result: ClaimResult = { claimed: [], duplicates: [], inFlight: [] };
    const earlier: string[] = [];
    let lapsesAt = 0;
    /** A held id: in flight, and noted when an earlier attempt of this origin left it. */
    const held = (id: string, stored: Stored | undefined) => {
      result.inFlight.push(id);
      if (origin !== undefined && stored?.origin === origin) {
        earlier.push(id);
        lapsesAt = Math.max(lapsesAt, stored.leaseUntil ?? 0);
      }
    };
    const unique: string[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) result.duplicates.push(id);
      else {
        seen.add(id);
        unique.push(id);
      }
    }
    if (unique.length === 0) return result;
    const keys = unique.map((id) => keyOf(scope, id));

    const now = this.now();
    const nowSeconds = Math.floor(now / 1000);
    const existing = await this.read(keys);
    const candidates: string[] = [];
    const fading: { id: string; pk: string; expiresAt: number }[] = [];
    unique.forEach((id, i) => {
      const pk = keys[i] as string;
      const stored = existing.get(pk);
      const state = stateOf(stored, now);
      if (state === 'done') {
        result.duplicates.push(id);
        if (stored?.expiresAt !== undefined && stored.expiresAt - nowSeconds < this.ttlSeconds / 2) fading.push({ id, pk, expiresAt: stored.expiresAt });
      } else if (state === 'held') held(id, stored);
      else candidates.push(id);
    });
    const refreshed = this.refresh(fading, now);
    try {
      if (candidates.length === 0) return withEarlier(result, earlier, lapsesAt);

      const owner = randomUUID();
      const lost: string[] = [];
      const won: string[] = [];
      const take = (pk: string, id: string) => {
        this.held.set(pk, owner);
        won.push(id);
      };
      try {
        await forEachLimit(candidates, this.concurrency, async (id) => {
          const pk = keyOf(scope, id);
          try {
            await this.doc.send(
              new PutCommand({
                TableName: this.table,
                Item: {
                  [PK]: pk,
                  status: 'pending',
                  owner,
                  ...(origin !== undefined ? { origin } : {}),
                  leaseUntil: now + leaseMs,
                  // A claim abandoned by a crash is cleaned up by TTL like a done item.
                  [TTL]: nowSeconds + Math.max(this.ttlSeconds, Math.ceil(leaseMs / 1000)),
                },
                ConditionExpression: 'attribute_not_exists(#pk) OR (#st = :pending AND #lease < :now) OR #exp < :nowSeconds',
                ExpressionAttributeNames: NAMES,
                ExpressionAttributeValues: { ':pending': 'pending', ':now': now, ':nowSeconds': nowSeconds },
                // DynamoDB returns the item that won, saving a re-read; dynalite ignores this.
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              }),
            );
            take(pk, id);
          } catch (err) {
            if (!(err instanceof ConditionalCheckFailedException)) throw err;
            const stored = err.Item ? fromAttributes(err.Item) : undefined;
            // Our own claim: the SDK retried a put that had been applied (its answer lost, a 5xx)
            // and the retry met it. It is ours to publish, not another run's in flight.
            if (ownClaim(stored, owner)) {
              take(pk, id);
              return;
            }
            const state = stored ? stateOf(stored, now) : undefined;
            if (state === 'done') result.duplicates.push(id);
            else if (state === 'held') held(id, stored);
            else lost.push(id);
          }
        });

        // Someone else won these between our read and our write. One more read says whether they
        // finished (duplicate) or are still at it; if the winner already released it again, it is
        // still theirs to retry, so it counts as in flight — either way we must not publish it.
        if (lost.length > 0) {
          const lostKeys = lost.map((id) => keyOf(scope, id));
          const again = await this.read(lostKeys);
          for (const [i, id] of lost.entries()) {
            const pk = lostKeys[i] as string;
            const stored = again.get(pk);
            if (ownClaim(stored, owner)) {
              take(pk, id);
            } else if (stateOf(stored, now) === 'done') result.duplicates.push(id);
            else held(id, stored);
          }
        }
      } catch (err) {
        // Do not leave half a batch blocked for a whole lease: hand back what this call took (the
        // re-read failing included).
        await this.release(scope, won).catch(() => undefined);
        throw err;
      }
      // Keep the caller's order: claimed ids are published in the order they were given.
      const order = new Map(unique.map((id, i) => [id, i]));
      result.claimed = won.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
      return withEarlier(result, earlier, lapsesAt);
    } finally {
      const { n, failed, error } = await refreshed;
      if (n > 0) result.refreshed = n;
      if (failed.length > 0) Object.assign(result, { refreshFailed: failed.length, refreshError: error, refreshFailedIds: failed });
    }
  }

  /**
   * Puts the expiry of ids still seen (done, past half their TTL) a full TTL ahead; returns how
   * many, and which ids the table refused. Without it an item a source keeps listing (an RSS feed
   * keeps items for weeks) would be forgotten a TTL after it was first published and published
   * again. Conditional on the record still being the done one read, so a claim taken meanwhile is
   * never overwritten: losing that race is expected and leaves the record as the winner wrote it.
   * At most one write per id and half-TTL. Never throws — a refresh is not worth failing the run's
   * publishing for — but any other error (throttling, a role without dynamodb:UpdateItem) is
   * counted and handed back, so it shows instead of every record silently lapsing a TTL after
   * its first publish.
   */
  private async refresh(items: { id: string; pk: string; expiresAt: number }[], now: number): Promise<{ n: number; failed: string[]; error?: unknown }> {
    let n = 0;
    const failed: string[] = [];
    let error: unknown;
    const next = Math.floor(now / 1000) + this.ttlSeconds;
    await forEachLimit(items, this.concurrency, async ({ id, pk, expiresAt }) => {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { [PK]: pk },
            UpdateExpression: 'SET #exp = :next',
            ConditionExpression: '#st = :done AND #exp = :seen',
            ExpressionAttributeNames: { '#st': 'status', '#exp': TTL },
            ExpressionAttributeValues: { ':done': 'done', ':seen': expiresAt, ':next': next },
          }),
        );
        n++;
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) return;
        failed.push(id);
        error ??= err;
      }
    });
    return { n, failed, error };
  }

  /** Marks ids done (for `ttlSeconds`) after they were published. */
  async confirm(scope: string, ids: string[]): Promise<void> {
    checkScope(scope);
    const keys = [...new Set(ids.map((id) => keyOf(scope, id)))];
    if (keys.length === 0) return;
    const expiresAt = Math.floor(this.now() / 1000) + this.ttlSeconds;
    // BatchWriteItem cannot be conditional. That is fine here: whoever holds the claim now, the
    // item was published, so `done` is the truth. Every chunk is tried even when one fails: each
    // item left unconfirmed is published again after its lease.
    await forEachLimit(
      chunk(keys, BATCH_WRITE_ITEMS),
      this.concurrency,
      async (part) => {
        let requests = part.map((pk) => ({ PutRequest: { Item: { [PK]: pk, status: 'done', [TTL]: expiresAt } } }));
        for (let attempt = 0; ; attempt++) {
          const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
          const rest = out.UnprocessedItems?.[this.table] ?? [];
          if (rest.length === 0) {
            // This chunk is done: no longer ours to release, whatever the other chunks do.
            for (const pk of part) this.held.delete(pk);
            break;
          }
          if (attempt + 1 >= MAX_CONFIRM_ATTEMPTS) {
            throw new Error(
              `dedup confirm: ${rest.length} items still unprocessed after ${MAX_CONFIRM_ATTEMPTS} attempts (the table is throttling): they were published, and will be published again once their claims lapse`,
            );
          }
          requests = rest as typeof requests;
          await backoff(attempt);
        }
      },
      { everyItem: true },
    );
  }

  /** Drops this store's claims on ids whose publish failed, so a retry can claim them again. */
  async release(scope: string, ids: string[]): Promise<void> {
    checkScope(scope);
    const mine = [...new Set(ids.map((id) => keyOf(scope, id)))].filter((pk) => this.held.has(pk));
    // everyItem: a failed delete must not keep the rest from being released — each claim left
    // pending blocks its item for a whole lease, and a retry meets it as an earlier attempt's claim.
    await forEachLimit(mine, this.concurrency, async (pk) => {
      try {
        await this.doc.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { [PK]: pk },
            // Only our own pending claim: after a lease takeover (or a confirm) it is not ours to drop.
            ConditionExpression: '#st = :pending AND #owner = :owner',
            ExpressionAttributeNames: { '#st': 'status', '#owner': OWNER },
            ExpressionAttributeValues: { ':pending': 'pending', ':owner': this.held.get(pk) },
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      this.held.delete(pk);
    }, { everyItem: true });
  }

  /** Consistent BatchGetItem over all keys, 100 per call, all calls in parallel. */
  private async read(keys: string[]): Promise<Map<string, Stored>> {
    const found = new Map<string, Stored>();
    await readConsistent(
      this.doc,
      this.table,
      keys,
      { expression: '#pk, #st, #lease, #exp, #owner, #origin', names: NAMES_FOR_READ },
      (item) =>
        found.set(String(item[PK]), {
          status: item.status as string | undefined,
          leaseUntil: toNumber(item.leaseUntil),
          expiresAt: toNumber(item[TTL]),
          owner: item.owner as string | undefined,
          origin: item.origin as string | undefined,
        }),
      'dedup read',
      'nothing was claimed for them',
    );
    return found;
  }
}

/** The same rule as the claim's condition, so a read and a write never disagree about an item. */
function stateOf(item: Stored | undefined, nowMs: number): State {
  if (!item) return 'free';
  if (item.expiresAt !== undefined && item.expiresAt < Math.floor(nowMs / 1000)) return 'free';
  if (item.status === 'done') return 'done';
  if (item.status === 'pending' && item.leaseUntil !== undefined && item.leaseUntil >= nowMs) return 'held';
  return 'free';
}

/** The winner's item from a failed condition check comes back in wire format. */
function fromAttributes(item: Record<string, AttributeValue>): Stored {
  return { status: item.status?.S, leaseUntil: toNumber(item.leaseUntil?.N), expiresAt: toNumber(item[TTL]?.N), owner: item.owner?.S, origin: item.origin?.S };
}

/** Sets it on `result` itself, not a copy: claim()'s `finally` adds the refresh counts to that object after this returns. */
function withEarlier(result: ClaimResult, ids: string[], lapsesAt: number): ClaimResult {
  if (ids.length > 0) result.heldByEarlierAttempt = { ids, lapsesAt };
  return result;
}

/** A pending claim written by this very claim() call (owners are per call). */
function ownClaim(item: Stored | undefined, owner: string): boolean {
  return item?.status === 'pending' && item.owner === owner;
}
