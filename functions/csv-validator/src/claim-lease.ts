import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

/** Powertools' attribute names (PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS), which createProcessor keeps. */
const STATUS_ATTR = 'status';
const IN_PROGRESS_EXPIRY_ATTR = 'in_progress_expiration';
const IN_PROGRESS = 'INPROGRESS';

/** What Powertools hashes into a record's key (its JSONValue). */
type JSONValue = Parameters<DynamoDBPersistenceLayer['saveInProgress']>[0];
/** Powertools' record (not exported on its own). */
type IdempotencyRecord = Parameters<DynamoDBPersistenceLayer['_putRecord']>[0];

export interface LeasedPersistenceOptions {
  tableName: string;
  awsSdkV3Client: DynamoDBClient;
  /** How long a claim outlives the last sign of life of the invocation holding it. */
  leaseMs: number;
  /** A renewal failed; `lost`: another invocation holds the claim now (it had expired). */
  onRenewalFailure?: (detail: { error: unknown; lost: boolean }) => void;
}

interface HeldClaim {
  timer: NodeJS.Timeout;
  /** The in-progress expiry last written (ms): renewals are conditional on it. */
  until: number;
  /** The invocation's own deadline (ms): a claim never outlives it. */
  deadline: number;
}

/**
 * Powertools' DynamoDB persistence, with in-progress claims held as leases.
 *
 * Why: Powertools sets a claim's expiry to the invocation's whole remaining time. An invocation
 * that crashes (out of memory, a runtime fault) early in a 15-minute timeout then keeps the
 * object claimed for up to 15 minutes, past both of Lambda's async retries (~1 and ~3 minutes
 * later): each gets "in progress" and the event ends in the DLQ instead of being finished. Here
 * the claim expires `leaseMs` after it was taken, and the live invocation renews it every third
 * of that, never past its own deadline; a crashed one stops renewing, so a retry takes over within
 * a lease. Powertools has no renewal (its record is written once), so this adds one: a
 * conditional UpdateItem of the in-progress expiry, which fails when the claim changed hands.
 */
export class LeasedDynamoDBPersistenceLayer extends DynamoDBPersistenceLayer {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;
  readonly #onRenewalFailure: LeasedPersistenceOptions['onRenewalFailure'];
  readonly #held = new Map<string, HeldClaim>();
  /** Deadlines of the claims being taken, by record key, for _putRecord. */
  readonly #deadlines = new Map<string, number>();

  constructor(options: LeasedPersistenceOptions) {
    super({ tableName: options.tableName, awsSdkV3Client: options.awsSdkV3Client });
    this.#client = options.awsSdkV3Client;
    this.#tableName = options.tableName;
    this.#leaseMs = options.leaseMs;
    this.#onRenewalFailure = options.onRenewalFailure;
  }

  /** Claims held (and renewed) by this process now. */
  get heldClaims(): number {
    return this.#held.size;
  }

  override async saveInProgress(data: JSONValue, remainingTimeInMillis?: number): Promise<void> {
    const deadline = Date.now() + (remainingTimeInMillis ?? this.#leaseMs);
    const key = this.getHashedIdempotencyKey(data);
    this.#deadlines.set(key, deadline);
    try {
      await super.saveInProgress(data, Math.min(remainingTimeInMillis ?? this.#leaseMs, this.#leaseMs));
    } finally {
      this.#deadlines.delete(key);
    }
  }

  // The record as written: its in-progress expiry (Powertools' own Date.now() + lease) is what
  // renewals are conditional on.
  protected override async _putRecord(record: IdempotencyRecord): Promise<void> {
    await super._putRecord(record);
    const deadline = this.#deadlines.get(record.idempotencyKey);
    if (record.getStatus() === IN_PROGRESS && record.inProgressExpiryTimestamp !== undefined && deadline !== undefined) {
      this.#hold(record.idempotencyKey, record.inProgressExpiryTimestamp, deadline);
    }
  }

  override async saveSuccess(data: JSONValue, result: JSONValue): Promise<void> {
    this.#release(this.getHashedIdempotencyKey(data));
    await super.saveSuccess(data, result);
  }

  override async deleteRecord(data: JSONValue): Promise<void> {
    this.#release(this.getHashedIdempotencyKey(data));
    await super.deleteRecord(data);
  }

  #hold(key: string, until: number, deadline: number): void {
    this.#release(key);
    const timer = setInterval(() => void this.#renew(key), Math.max(1, Math.floor(this.#leaseMs / 3)));
    // A claim must not keep a process alive that has nothing else to do (a test, a local run).
    timer.unref();
    this.#held.set(key, { timer, until, deadline });
  }

  #release(key: string): void {
    const held = this.#held.get(key);
    if (!held) return;
    clearInterval(held.timer);
    this.#held.delete(key);
  }

  async #renew(key: string): Promise<void> {
    const held = this.#held.get(key);
    if (!held) return;
    const until = Math.min(Date.now() + this.#leaseMs, held.deadline);
    if (until <= held.until) return;
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.getKey(key),
          UpdateExpression: 'SET #until = :until',
          ConditionExpression: '#status = :inProgress AND #until = :held',
          ExpressionAttributeNames: { '#status': STATUS_ATTR, '#until': IN_PROGRESS_EXPIRY_ATTR },
          ExpressionAttributeValues: { ':inProgress': { S: IN_PROGRESS }, ':held': { N: String(held.until) }, ':until': { N: String(until) } },
        }),
      );
      // Released meanwhile (the work ended while the update was in flight): nothing to record.
      if (this.#held.get(key) === held) held.until = until;
    } catch (error) {
      const lost = error instanceof ConditionalCheckFailedException;
      // The claim completed or was released while the update was in flight: not a failure.
      if (this.#held.get(key) !== held) return;
      if (lost) this.#release(key);
      this.#onRenewalFailure?.({ error, lost });
    }
  }
}
