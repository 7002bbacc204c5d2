import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { type AttributeValue, ConditionalCheckFailedException, DeleteItemCommand, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

/** Powertools' attribute names (PERSISTENCE_ATTRIBUTE_KEY_MAPPINGS), which createProcessor keeps. */
const STATUS_ATTR = 'status';
const IN_PROGRESS_EXPIRY_ATTR = 'in_progress_expiration';
const EXPIRY_ATTR = 'expiration';
const DATA_ATTR = 'data';
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
  /** The result was not stored: the claim had passed to another invocation, whose result will be. */
  onResultNotStored?: () => void;
}

interface HeldClaim {
  /** The next renewal; one at a time, the next scheduled once the last has settled. */
  timer: NodeJS.Timeout | undefined;
  /** The in-progress expiry last written (ms): renewals are conditional on it. */
  until: number;
  /**
   * Expiries this process tried to write, the last few: a renewal whose response was lost after
   * it landed (the SDK then retries it and fails the condition) is recognised as its own.
   */
  tried: number[];
  /** The invocation's own deadline (ms): a claim never outlives it. */
  deadline: number;
  /** Renewals go on: false once completed, released or lost (a lost claim still guards the last write). */
  renewing: boolean;
}

const TRIED_KEPT = 8;

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
 * Renewals go one at a time (the next is scheduled once the last has settled), and a renewal that
 * landed without its answer — the SDK's retry of it then fails the condition — is recognised by
 * the value it wrote, so a slow or flaky connection does not give up a claim that is still ours.
 */
export class LeasedDynamoDBPersistenceLayer extends DynamoDBPersistenceLayer {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;
  readonly #onRenewalFailure: LeasedPersistenceOptions['onRenewalFailure'];
  readonly #onResultNotStored: LeasedPersistenceOptions['onResultNotStored'];
  /**
   * The last claim this process wrote per record key, until it is completed or released: renewed,
   * or lost to another invocation (no longer renewed, but what completing or releasing checks).
   */
  readonly #claims = new Map<string, HeldClaim>();
  /** Deadlines of the claims being taken, by record key, for _putRecord. */
  readonly #deadlines = new Map<string, number>();

  constructor(options: LeasedPersistenceOptions) {
    super({ tableName: options.tableName, awsSdkV3Client: options.awsSdkV3Client });
    this.#client = options.awsSdkV3Client;
    this.#tableName = options.tableName;
    this.#leaseMs = options.leaseMs;
    this.#onRenewalFailure = options.onRenewalFailure;
    this.#onResultNotStored = options.onResultNotStored;
  }

  override async saveInProgress(data: JSONValue, remainingTimeInMillis?: number): Promise<void> {
    // Without a Lambda context there is no deadline to stop at: renewals go on until released.
    const deadline = remainingTimeInMillis === undefined ? Number.POSITIVE_INFINITY : Date.now() + remainingTimeInMillis;
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

  // Completing and releasing stop the renewals and write only over this process's own claim: a
  // claim that lapsed (a stalled process, a DynamoDB outage longer than the lease) and was taken
  // over belongs to the invocation now at work, whose result or release is the one that counts.
  // Powertools writes both unconditionally.
  override async saveSuccess(data: JSONValue, result: JSONValue): Promise<void> {
    await this.#closingWith(this.getHashedIdempotencyKey(data), () => super.saveSuccess(data, result));
  }

  override async deleteRecord(data: JSONValue): Promise<void> {
    await this.#closingWith(this.getHashedIdempotencyKey(data), () => super.deleteRecord(data));
  }

  async #closingWith(key: string, write: () => Promise<void>): Promise<void> {
    this.#release(key);
    try {
      await write();
    } finally {
      this.#claims.delete(key);
    }
  }

  protected override async _updateRecord(record: IdempotencyRecord): Promise<void> {
    const claim = this.#claims.get(record.idempotencyKey);
    if (!claim || this.isPayloadValidationEnabled()) return super._updateRecord(record);
    const values: Record<string, unknown> = { ':expiry': record.expiryTimestamp, ':status': record.getStatus() };
    const names: Record<string, string> = { '#expiry': EXPIRY_ATTR, '#status': STATUS_ATTR };
    let set = '#expiry = :expiry, #status = :status';
    if (record.responseData !== undefined) {
      set += ', #data = :data';
      names['#data'] = DATA_ATTR;
      values[':data'] = record.responseData;
    }
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.getKey(record.idempotencyKey),
          UpdateExpression: `SET ${set}`,
          ...this.#stillOurs(claim, names, values),
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      this.#onResultNotStored?.();
    }
  }

  protected override async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    const claim = this.#claims.get(record.idempotencyKey);
    if (!claim) return super._deleteRecord(record);
    try {
      await this.#client.send(
        new DeleteItemCommand({ TableName: this.#tableName, Key: this.getKey(record.idempotencyKey), ...this.#stillOurs(claim, {}, {}) }),
      );
    } catch (error) {
      // Another invocation's claim, or gone already: not ours to delete.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** The condition of a write over our own claim: in progress, with an expiry we wrote. */
  #stillOurs(claim: HeldClaim, names: Record<string, string>, values: Record<string, unknown>) {
    const tried = claim.tried.map((_, i) => `:tried${i}`);
    claim.tried.forEach((until, i) => {
      values[`:tried${i}`] = until;
    });
    return {
      ConditionExpression: `#status = :inProgress AND #until IN (${tried.join(', ')})`,
      ExpressionAttributeNames: { ...names, '#status': STATUS_ATTR, '#until': IN_PROGRESS_EXPIRY_ATTR },
      ExpressionAttributeValues: marshall({ ...values, ':inProgress': IN_PROGRESS }),
    };
  }

  #hold(key: string, until: number, deadline: number): void {
    this.#release(key);
    const held: HeldClaim = { timer: undefined, until, tried: [until], deadline, renewing: true };
    this.#claims.set(key, held);
    this.#schedule(key, held);
  }

  /** The next renewal in a third of a lease; after a failed one, in a twelfth (the lease is running out). */
  #schedule(key: string, held: HeldClaim, soon = false): void {
    held.timer = setTimeout(() => void this.#renew(key, held), Math.max(1, Math.floor(this.#leaseMs / (soon ? 12 : 3))));
    // A claim must not keep a process alive that has nothing else to do (a test, a local run).
    held.timer.unref();
  }

  /** Stops the renewals (the claim stays known until completed or released). */
  #release(key: string): void {
    const held = this.#claims.get(key);
    if (!held) return;
    clearTimeout(held.timer);
    held.renewing = false;
  }

  /** The record as it is now, for a failed condition that came back without it (dynalite). */
  async #read(key: string): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const out = await this.#client.send(new GetItemCommand({ TableName: this.#tableName, Key: this.getKey(key), ConsistentRead: true }));
      return out.Item;
    } catch {
      return undefined;
    }
  }

  async #renew(key: string, held: HeldClaim): Promise<void> {
    if (!held.renewing) return;
    const until = Math.min(Date.now() + this.#leaseMs, held.deadline);
    // At the deadline: nothing left to extend, and the claim ends with the invocation.
    if (until <= held.until) return;
    // The value last confirmed stays, whatever else is dropped: completing checks against these.
    held.tried = [held.until, ...held.tried.filter((t) => t !== held.until).slice(2 - TRIED_KEPT), until];
    let outcome: { error: unknown; lost: boolean } | undefined;
    const giveUpMs = Math.max(1, Math.floor(this.#leaseMs / 4));
    const giveUp = AbortSignal.timeout(giveUpMs);
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.getKey(key),
          UpdateExpression: 'SET #until = :until',
          ConditionExpression: '#status = :inProgress AND #until = :held',
          ExpressionAttributeNames: { '#status': STATUS_ATTR, '#until': IN_PROGRESS_EXPIRY_ATTR },
          ExpressionAttributeValues: { ':inProgress': { S: IN_PROGRESS }, ':held': { N: String(held.until) }, ':until': { N: String(until) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        // A renewal stuck on a slow connection (the SDK's retries included) gives way to the next
        // one well within the lease; one that landed all the same is recognised by its value.
        { abortSignal: giveUp },
      );
      held.until = until;
    } catch (error) {
      // Read before anything else is awaited: a refused condition (a lost claim) is never a timeout.
      const timedOut = giveUp.aborted && (error as { name?: string }).name === 'AbortError';
      const found = error instanceof ConditionalCheckFailedException ? (error.Item ?? (await this.#read(key))) : undefined;
      const foundUntil = Number(found?.[IN_PROGRESS_EXPIRY_ATTR]?.N);
      if (found?.[STATUS_ATTR]?.S === IN_PROGRESS && held.tried.includes(foundUntil)) {
        // One of our own writes landed without its answer: the claim is still ours.
        held.until = foundUntil;
      } else if (timedOut) {
        // The SDK's own words would be "Request aborted": say it was this renewal's time limit.
        outcome = { error: new Error(`no answer within ${giveUpMs} ms (a quarter of the lease)`, { cause: error }), lost: false };
      } else {
        outcome = { error, lost: error instanceof ConditionalCheckFailedException };
      }
    }
    // The claim completed or was released while the update was in flight: nothing to report.
    if (!held.renewing) return;
    if (outcome?.lost) this.#release(key);
    else this.#schedule(key, held, outcome !== undefined);
    if (outcome) this.#onRenewalFailure?.(outcome);
  }
}
