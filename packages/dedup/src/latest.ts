import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachLimit } from './limits.ts';
import { checkScope, documentClientOf, keyOf, PK, readConsistent, TTL, toNumber } from './table.ts';

export interface LatestValueOptions {
  client: DynamoDBClient;
  tableName: string;
  /**
   * The TTL of the DedupStore whose ids carry this store's sequence numbers. A record is kept at
   * least this long after its key was last seen — past every claim made under it (see the class).
   */
  ttlSeconds?: number;
  /** Conditional updates in flight at once (default 64). */
  concurrency?: number;
  /** Clock in epoch milliseconds (tests move it). */
  now?: () => number;
}

/** A key's last published value and its sequence number (1 for the first, +1 per change). */
export interface LatestValue {
  value: string;
  seq: number;
  /** Epoch seconds: the table's TTL attribute. */
  expiresAt: number;
  /** Epoch milliseconds: when the value was read, as the run that recorded it said (LatestChange.observedAt). */
  observedAt?: number;
}

/** A key whose value changed from what was read (`seen`, absent for a key never recorded). */
export interface LatestChange {
  key: string;
  value: string;
  seen?: LatestValue | undefined;
  /**
   * Epoch milliseconds: when this value was read at its source. Given, a change is recorded only
   * over a record of an earlier reading: a run that read its source before another and reached
   * the table after it (slow, retried) would otherwise record the older value as the newest change.
   */
  observedAt?: number;
}

/** Unchanged records to renew, as read. */
export interface LatestRenewal {
  key: string;
  seen: LatestValue;
}

export interface AdvanceResult {
  /** The number each recorded change got (or the same change recorded by another run), by key. */
  numbers: Map<string, number>;
  /** Keys whose change the table refused to record (not a lost race), with the first error. */
  failed: string[];
  error?: unknown;
}

export interface RenewResult {
  /** Records whose expiry was put ahead. */
  renewed: number;
  /** Renewals the table refused (throttled, no UpdateItem grant), with the first error. */
  failed: number;
  error?: unknown;
}

const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
// `value` is one of DynamoDB's reserved words: expressions name the attributes indirectly.
const RECORD_NAMES = { '#val': 'value', '#seq': 'seq', '#exp': TTL };
/** With the key too: an expression must use every name it is given, and only some use #pk. */
const NAMES = { '#pk': PK, ...RECORD_NAMES };
const OBSERVED_AT = 'observedAt';
const READ_NAMES = { ...NAMES, '#at': OBSERVED_AT };

/**
 * The last value per key (a market's outcome, say) and a number counted per key, in the same
 * table of kind `dedup` as the claims (`pk = "<scope>#<key>"`, `value`, `seq`, `expiresAt`).
 *
 * Why it exists: claims remember ids, and an id made of the value alone comes back when the value
 * does. A price that goes A → B → A would have its return to A dropped as a duplicate of the first
 * A, and consumers would be left holding B. With the last value kept per key, each change gets the
 * next number and an id that carries it (A#1, B#2, A#3); the claims then guard that id as any other.
 *
 * A change is recorded BEFORE it is published (`advance`), as a conditional write that succeeds
 * only while the record is still the one read: the numbers of a key go up by one per recorded
 * change, and of two runs that saw different changes from the same record, one records its change
 * and the other learns it lost (it publishes nothing for that key; the next run reads the winner's
 * record). The caller then publishes every key's current id, changed or not, through the claims:
 * a recorded change whose publish never happened (the run was killed, its flush failed) has a
 * free claim and is published by the next run that still sees it; one that was published is a
 * duplicate. Recording after publishing instead would lose a return: A#1 recorded, B#2 published
 * but not recorded, then A seen again — equal to the record, and never published.
 *
 * Lifetime: a record is written with twice the claims' TTL and renewed once less than 1.5 TTL is
 * left, so it outlives every claim made under it (a claim lives one TTL after it was last seen).
 * Once a key has not been seen for that long, its record and all its claims are gone and numbering
 * starts again at 1 without meeting an old id.
 */
export class LatestValueStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly ttlSeconds: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(options: LatestValueOptions) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    this.concurrency = Math.max(1, options.concurrency ?? 64);
    this.now = options.now ?? Date.now;
    if (!(this.ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive');
  }

  /** The live records of these keys (expired ones count as absent, as in DedupStore). */
  async read(scope: string, keys: readonly string[]): Promise<Map<string, LatestValue>> {
    checkScope(scope);
    const byPk = new Map([...new Set(keys)].map((key) => [keyOf(scope, key), key]));
    const found = new Map<string, LatestValue>();
    if (byPk.size === 0) return found;
    const nowSeconds = Math.floor(this.now() / 1000);
    await readConsistent(
      this.doc,
      this.table,
      [...byPk.keys()],
      { expression: '#pk, #val, #seq, #exp, #at', names: READ_NAMES },
      (item) => {
        const key = byPk.get(String(item[PK]));
        const seq = toNumber(item.seq);
        const expiresAt = toNumber(item[TTL]);
        if (key === undefined || typeof item.value !== 'string' || seq === undefined || expiresAt === undefined || expiresAt < nowSeconds) return;
        const observedAt = toNumber(item[OBSERVED_AT]);
        found.set(key, { value: item.value, seq, expiresAt, ...(observedAt === undefined ? {} : { observedAt }) });
      },
      'latest-value read',
      'nothing was published',
    );
    return found;
  }

  /**
   * Records each change as its key's next number, if the record is still the one read: `numbers`,
   * by key. A key another run moved on first is absent from it when that run recorded another
   * value; when it recorded the same value, `numbers` has that run's number (the same change: the
   * claims let one of the two publish it). A write the table refuses for another reason
   * (throttled after the SDK's retries, no UpdateItem grant) leaves its key out too, listed in
   * `failed` with the first error: nothing may be published for a key without its number, but the
   * other keys need not wait for it.
   */
  async advance(scope: string, changes: readonly LatestChange[]): Promise<AdvanceResult> {
    checkScope(scope);
    const nowSeconds = Math.floor(this.now() / 1000);
    const numbers = new Map<string, number>();
    const raced: LatestChange[] = [];
    const failed: string[] = [];
    let error: unknown;
    await forEachLimit(changes, this.concurrency, async (change) => {
      const seq = (change.seen?.seq ?? 0) + 1;
      // Read at the source no later than the record read: another run read it since and got here
      // first. Its change stands, as when it moves the record on between this run's read and write
      // (below); the condition keeps that record the one read, so comparing with it here suffices.
      if (change.observedAt !== undefined && change.seen?.observedAt !== undefined && change.observedAt <= change.seen.observedAt) {
        raced.push(change);
        return;
      }
      const { seen, observedAt } = change;
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { [PK]: keyOf(scope, change.key) },
            // A record without a reading time has none from an earlier run left on it.
            UpdateExpression: `SET #val = :val, #seq = :seq, #exp = :exp${observedAt === undefined ? ' REMOVE #at' : ', #at = :at'}`,
            // Still the record read: absent (or past its TTL, which counts as absent), or that one.
            ConditionExpression: seen ? '#seq = :seen AND #val = :seenVal' : 'attribute_not_exists(#pk) OR #exp < :nowSeconds',
            ExpressionAttributeNames: { ...(seen ? RECORD_NAMES : NAMES), '#at': OBSERVED_AT },
            ExpressionAttributeValues: {
              ':val': change.value,
              ':seq': seq,
              ':exp': nowSeconds + 2 * this.ttlSeconds,
              ...(observedAt === undefined ? {} : { ':at': observedAt }),
              ...(seen ? { ':seen': seen.seq, ':seenVal': seen.value } : { ':nowSeconds': nowSeconds }),
            },
          }),
        );
        numbers.set(change.key, seq);
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) raced.push(change);
        else {
          failed.push(change.key);
          error ??= err;
        }
      }
    });
    if (raced.length > 0) {
      try {
        const now = await this.read(
          scope,
          raced.map((c) => c.key),
        );
        for (const change of raced) {
          const record = now.get(change.key);
          if (record?.value === change.value) numbers.set(change.key, record.seq);
        }
      } catch (err) {
        // Whether the winner recorded the same change is unknown: as refused, like a failed write.
        failed.push(...raced.map((c) => c.key));
        error ??= err;
      }
    }
    return { numbers, failed, ...(failed.length > 0 ? { error } : {}) };
  }

  /**
   * Puts the expiry of unchanged records (as read) ahead, those with less than 1.5 TTL left: at
   * most one write per key and half-TTL, and a record keeps at least 1.5 TTL past its key's last
   * sighting, past the claims refreshed at that sighting (one TTL). Conditional on the record
   * still being the one read. Never throws: a renewal missed is tried again by the next run;
   * failures are counted for the caller to report (a record that lapses while its key is still
   * seen restarts numbering at 1, and may then meet a claim of an earlier 1).
   */
  async renew(scope: string, renewals: readonly LatestRenewal[]): Promise<RenewResult> {
    checkScope(scope);
    const nowSeconds = Math.floor(this.now() / 1000);
    const due = renewals.filter(({ seen }) => seen.expiresAt - nowSeconds < 1.5 * this.ttlSeconds);
    const result: RenewResult = { renewed: 0, failed: 0 };
    await forEachLimit(due, this.concurrency, async ({ key, seen }) => {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { [PK]: keyOf(scope, key) },
            UpdateExpression: 'SET #exp = :exp',
            ConditionExpression: '#seq = :seq AND #val = :val',
            ExpressionAttributeNames: RECORD_NAMES,
            ExpressionAttributeValues: { ':val': seen.value, ':seq': seen.seq, ':exp': nowSeconds + 2 * this.ttlSeconds },
          }),
        );
        result.renewed++;
      } catch (err) {
        // Moved on meanwhile: the run that moved it wrote a fresh expiry.
        if (err instanceof ConditionalCheckFailedException) return;
        result.failed++;
        result.error ??= err;
      }
    });
    return result;
  }
}
