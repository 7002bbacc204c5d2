import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachLimit } from './limits.ts';
import { checkScope, keyOf, PK, readConsistent, TTL, toNumber } from './table.ts';

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
}

export interface LatestEntry {
  key: string;
  value: string;
  seq: number;
  /** The record read for this key before publishing, if any: an unchanged one is written only to renew it. */
  seen?: LatestValue | undefined;
}

export interface RecordResult {
  /** Records written: a new value, or a renewed expiry. */
  written: number;
  /** Writes the table refused (throttled, no UpdateItem grant), with the first error. */
  failed: number;
  error?: unknown;
}

const DEFAULT_TTL_SECONDS = 7 * 24 * 3600;
const NAMES = { '#pk': PK, '#val': 'value', '#seq': 'seq', '#exp': TTL };

/**
 * The last value published per key (a market's outcome, say), in the same table of kind `dedup` as
 * the claims (`pk = "<scope>#<key>"`, `value`, `seq`, `expiresAt`).
 *
 * Why it exists: claims remember ids, and an id made of the value alone comes back when the value
 * does. A price that goes A → B → A would have its return to A dropped as a duplicate of the first
 * A, and consumers would be left holding B. With the last value kept per key, a producer publishes
 * a value only when it differs from the last one, under an id that carries the change's sequence
 * number (A#1, B#2, A#3): each change is a new id, which the claims still guard against a second
 * publisher, and a retry or an overlapping run that sees the same change builds the same id.
 *
 * Written after publishing (`record`), never before: a run that dies before recording left the
 * claims done, so the next run builds the same id, finds it a duplicate, and records it then.
 * A write only moves a record forward (a higher `seq`, or the same value to renew it), so two runs
 * recording at once cannot set it back.
 *
 * Lifetime: a record is written with twice the claims' TTL and renewed once less than one TTL is
 * left, so it outlives every claim made under it (a claim lives one TTL from its confirm). Once a
 * key has not been seen for that long, its record and all its claims are gone and numbering starts
 * again at 1 without meeting an old id.
 */
export class LatestValueStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly ttlSeconds: number;
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(options: LatestValueOptions) {
    // As DedupStore: keep the translate config another document client of this client set.
    const existing = (options.client.config as { translateConfig?: TranslateConfig }).translateConfig;
    this.doc = DynamoDBDocumentClient.from(options.client, existing);
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
      { expression: '#pk, #val, #seq, #exp', names: NAMES },
      (item) => {
        const key = byPk.get(String(item[PK]));
        const seq = toNumber(item.seq);
        const expiresAt = toNumber(item[TTL]);
        if (key === undefined || typeof item.value !== 'string' || seq === undefined || expiresAt === undefined || expiresAt < nowSeconds) return;
        found.set(key, { value: item.value, seq, expiresAt });
      },
      'latest-value read',
      'nothing was published',
    );
    return found;
  }

  /**
   * Records what was published. An entry equal to the record it read (`seen`) is written only when
   * less than one TTL is left on it. Never throws: a write not made is made by a later run (see
   * the class); failures are counted for the caller to report.
   */
  async record(scope: string, entries: readonly LatestEntry[]): Promise<RecordResult> {
    checkScope(scope);
    const now = this.now();
    const nowSeconds = Math.floor(now / 1000);
    const due = entries.filter(({ value, seq, seen }) => !(seen && seen.seq === seq && seen.value === value && seen.expiresAt - nowSeconds >= this.ttlSeconds));
    const result: RecordResult = { written: 0, failed: 0 };
    await forEachLimit(due, this.concurrency, async ({ key, value, seq }) => {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { [PK]: keyOf(scope, key) },
            UpdateExpression: 'SET #val = :val, #seq = :seq, #exp = :exp',
            // Forward only: a later change, the same one renewed, or a record past its TTL.
            ConditionExpression: 'attribute_not_exists(#pk) OR #seq < :seq OR (#seq = :seq AND #val = :val) OR #exp < :nowSeconds',
            ExpressionAttributeNames: NAMES,
            ExpressionAttributeValues: { ':val': value, ':seq': seq, ':exp': nowSeconds + 2 * this.ttlSeconds, ':nowSeconds': nowSeconds },
          }),
        );
        result.written++;
      } catch (err) {
        // Another run recorded a later change first: the record is already past this one.
        if (err instanceof ConditionalCheckFailedException) return;
        result.failed++;
        result.error ??= err;
      }
    });
    return result;
  }
}
