import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { S3ObjectRef } from '@laminar/aws';
import { stopReason } from '@laminar/runtime';
import { TABLE_KINDS } from '@laminar/spec';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_KINDS.ledger;
const DAY_S = 86_400;

/** One arrival in the ledger: every field comes from the event, so a redelivery names the same item. */
export interface ArrivalItem {
  /** `<bucket>/<key>`: one object's history is one partition. */
  [PK]: string;
  /** `<eventTime>#<sequencer or etag>`: sorts that history by time. */
  [SK]: string;
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  sequencer?: string;
  eventTime: string;
  eventName: string;
  source: S3ObjectRef['source'];
  /** Epoch seconds (DynamoDB TTL). */
  [TTL]: number;
}

export const partitionKeyOf = (ref: Pick<S3ObjectRef, 'bucket' | 'key'>) => `${ref.bucket}/${ref.key}`;

/**
 * The sort key names one S3 event, not one delivery. The sequencer tells apart two writes of the
 * same key in the same instant (EventBridge times have whole seconds); where S3 sends none, the
 * version id (one per write) stands in, and then the etag (the same bytes written twice in one
 * second are one arrival then). eventTime is already normalized to milliseconds, so keys sort by time.
 */
export function sortKeyOf(ref: Pick<S3ObjectRef, 'eventTime' | 'sequencer' | 'etag' | 'versionId'>): string {
  return `${ref.eventTime}#${ref.sequencer ?? ref.versionId ?? ref.etag ?? '-'}`;
}

/**
 * The ledger item for one arrival. The TTL counts from the event's time rather than from now, so
 * the item is a pure function of the event: a duplicate delivery would write it byte for byte.
 */
export function arrivalItem(ref: S3ObjectRef, ttlDays: number): ArrivalItem {
  const item: ArrivalItem = {
    [PK]: partitionKeyOf(ref),
    [SK]: sortKeyOf(ref),
    bucket: ref.bucket,
    key: ref.key,
    eventTime: ref.eventTime,
    eventName: ref.eventName,
    source: ref.source,
    [TTL]: Math.floor(Date.parse(ref.eventTime) / 1000) + ttlDays * DAY_S,
  };
  if (ref.size !== undefined) item.size = ref.size;
  if (ref.etag !== undefined) item.etag = ref.etag;
  if (ref.versionId !== undefined) item.versionId = ref.versionId;
  if (ref.sequencer !== undefined) item.sequencer = ref.sequencer;
  return item;
}

export interface RecordDeps {
  db: DynamoDBDocumentClient;
  tableName: string;
  ttlDays: number;
  signal?: AbortSignal;
  /**
   * Counted into as each write settles, so an invocation that fails part-way still tells what it
   * wrote (its retry sees those items as already recorded). recordArrivals returns it.
   */
  counts?: RecordResult;
}

export interface RecordResult {
  /** Ledger items this invocation created: arrivals the ledger had not seen. */
  recorded: number;
  /**
   * Arrivals whose item was already in the ledger: a redelivered event, or a retry after a write
   * that had in fact succeeded. Not an error, and not counted again in `recorded`.
   */
  alreadyRecorded: number;
}

/**
 * Writes one item per arrival with a PutItem conditional on the item not existing yet — no read
 * first. S3, EventBridge and Lambda's async retries all redeliver: a delivery that lands on a pk + sk
 * already written fails the condition and counts as `alreadyRecorded`, so the ledger keeps one entry
 * per event however often it arrives and `recorded` counts each arrival once. The condition takes no
 * IAM action beyond dynamodb:PutItem. Every write settles before a failure is thrown, so `counts`
 * holds all of this invocation's writes; the retry skips what had already been written.
 */
export async function recordArrivals(refs: readonly S3ObjectRef[], deps: RecordDeps): Promise<RecordResult> {
  const counts = deps.counts ?? { recorded: 0, alreadyRecorded: 0 };
  const items = new Map<string, ArrivalItem>();
  for (const ref of refs) {
    const item = arrivalItem(ref, deps.ttlDays);
    const key = `${item[PK]}\u0000${item[SK]}`;
    // The same arrival twice in one event: one write, and the second is a duplicate delivery.
    if (items.has(key)) counts.alreadyRecorded++;
    else items.set(key, item);
  }
  const writes = await Promise.allSettled(
    [...items.values()].map(async (Item) => {
      try {
        await deps.db.send(
          // On a composite key the condition is evaluated against the item with this pk + sk: it
          // fails only for this very arrival, not for other arrivals of the same object.
          new PutCommand({ TableName: deps.tableName, Item, ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PK } }),
          deps.signal ? { abortSignal: deps.signal } : {},
        );
        counts.recorded++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        counts.alreadyRecorded++;
      }
    }),
  );
  const failures = writes.flatMap((w) => (w.status === 'rejected' ? [w.reason as unknown] : []));
  if (failures.length === 0) return counts;
  // A write DynamoDB refused (AccessDenied, a missing table) is the news even when the deadline then
  // stopped the others. The SDK rejects a stopped request with its own "Request aborted"; why it
  // stopped (the deadline) is the signal's reason, and the error to carry when nothing else failed.
  const refused = failures.find((e) => (e as { name?: string }).name !== 'AbortError');
  throw refused ?? stopReason(deps.signal) ?? failures[0];
}
