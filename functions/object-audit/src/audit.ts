import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { S3ObjectRef } from '@laminar/aws';
import { stopReason } from '@laminar/runtime';
import { TABLE_KINDS } from '@laminar/spec';

const { partitionKey: PK, sortKey: SK, ttlAttribute: TTL } = TABLE_KINDS.ledger;
const DAY_S = 86_400;

/** One arrival in the ledger: every field comes from the event, so a redelivery writes the same item. */
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
 * same key in the same instant (EventBridge times have whole seconds); the etag stands in where
 * S3 sends no sequencer. eventTime is already normalized to milliseconds, so keys sort by time.
 */
export function sortKeyOf(ref: Pick<S3ObjectRef, 'eventTime' | 'sequencer' | 'etag' | 'versionId'>): string {
  return `${ref.eventTime}#${ref.sequencer ?? ref.etag ?? ref.versionId ?? '-'}`;
}

/**
 * The ledger item for one arrival. The TTL counts from the event's time rather than from now, so
 * the item is a pure function of the event: a duplicate delivery rewrites it byte for byte.
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
}

export interface RecordResult {
  /** Ledger items written: distinct arrivals in the event. */
  recorded: number;
}

/**
 * Writes one item per arrival with a plain PutItem — no condition, no read first. An at-least-once
 * delivery (S3, EventBridge and Lambda's async retries all redeliver) lands on the same pk + sk and
 * overwrites an identical item, so the ledger keeps one entry per event however often it arrives,
 * and needs neither a conditional write nor dynamodb:GetItem. A failed write fails the invocation;
 * its retry rewrites whatever had already been written, harmlessly.
 */
export async function recordArrivals(refs: readonly S3ObjectRef[], deps: RecordDeps): Promise<RecordResult> {
  const items = new Map<string, ArrivalItem>();
  for (const ref of refs) {
    const item = arrivalItem(ref, deps.ttlDays);
    items.set(`${item[PK]}\u0000${item[SK]}`, item);
  }
  try {
    await Promise.all(
      [...items.values()].map((Item) =>
        deps.db.send(new PutCommand({ TableName: deps.tableName, Item }), deps.signal ? { abortSignal: deps.signal } : {}),
      ),
    );
  } catch (error) {
    // The SDK rejects a stopped request with its own "Request aborted"; why it stopped (the
    // deadline) is the signal's reason, and the error the logs, alarms and DLQ should carry.
    throw stopReason(deps.signal) ?? error;
  }
  return { recorded: items.size };
}
