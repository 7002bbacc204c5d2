import { InputValidationError, issuesOf } from '@laminar/runtime';
import { decodeS3EventKey } from '@laminar/spec';
import { z } from 'zod';

/** One object an S3 event is about, the same whichever way S3 delivered the event. */
export interface S3ObjectRef {
  bucket: string;
  /** The real object key, decoded: pass it to the S3 API as it is. */
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  /** Orders events for one key (greater hex string = later); absent on some event types. */
  sequencer?: string;
  /** ISO-8601 UTC with milliseconds, whatever precision the event carried, so times sort as strings. */
  eventTime: string;
  /**
   * Classic notifications: S3's own name (`ObjectCreated:Put`, `ObjectRemoved:Delete`…).
   * EventBridge: `<detail-type>:<reason>` (`Object Created:PutObject`), or the detail-type alone
   * when the event has no reason. Use {@link isObjectCreated} rather than comparing names.
   */
  eventName: string;
  source: 'eventbridge' | 's3-notification';
}

// How S3 encodes keys in events, and the inverse: @laminar/spec (s3-keys.ts), whose rule patterns use it.
export { decodeS3EventKey, encodeS3EventKey } from '@laminar/spec';

export function isObjectCreated(ref: Pick<S3ObjectRef, 'eventName'>): boolean {
  return ref.eventName.startsWith('ObjectCreated:') || ref.eventName.startsWith('Object Created');
}

const encodedKey = z
  .string()
  .min(1)
  .transform((raw, ctx) => {
    try {
      return decodeS3EventKey(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a URL-encoded object key (a lone "%" must arrive as %25)' });
      return z.NEVER;
    }
  });
const eventTime = z.iso.datetime({ offset: true }).transform((t) => new Date(t).toISOString());
const bucketName = z.string().min(1);
const size = z.number().int().nonnegative();
// Absent, null and "" all mean "not given" (versionId is null on unversioned buckets).
const optionalString = z.string().nullish();

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html — extra fields are ignored. */
const eventBridgeSchema = z.object({
  source: z.literal('aws.s3'),
  'detail-type': z.enum(['Object Created', 'Object Deleted']),
  time: eventTime,
  detail: z.object({
    bucket: z.object({ name: bucketName }),
    object: z.object({
      key: encodedKey,
      size: size.nullish(),
      etag: optionalString,
      'version-id': optionalString,
      sequencer: optionalString,
    }),
    reason: optionalString,
  }),
});

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html */
const notificationSchema = z.object({
  Records: z
    .array(
      z.object({
        eventSource: z.literal('aws:s3'),
        eventName: z.string().regex(/^Object(Created|Removed):\w+$/, 'expected an ObjectCreated:* or ObjectRemoved:* event'),
        eventTime,
        s3: z.object({
          bucket: z.object({ name: bucketName }),
          object: z.object({
            key: encodedKey,
            size: size.nullish(),
            eTag: optionalString,
            versionId: optionalString,
            sequencer: optionalString,
          }),
        }),
      }),
    )
    .min(1),
});

type Loose<T> = { [K in keyof T]: T[K] | null | undefined };

/** Drops absent optionals so refs compare and serialize without `undefined` members. */
function compact(ref: Loose<S3ObjectRef>): S3ObjectRef {
  return Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined && v !== null && v !== '')) as unknown as S3ObjectRef;
}

function parseWith<S extends z.ZodType>(schema: S, event: unknown): z.output<S> {
  const parsed = schema.safeParse(event);
  if (!parsed.success) throw new InputValidationError(issuesOf(parsed.error), 'S3 event');
  return parsed.data;
}

/**
 * The objects an S3 event names, from either delivery: an EventBridge event ("Object Created" /
 * "Object Deleted" from aws.s3; always one object) or a classic notification (`Records`, one or
 * more). Keys come back decoded. Anything else — another event, a missing field, a key that is
 * not validly encoded — is an `InputValidationError` naming every bad field: retrying cannot fix it.
 */
export function parseS3Event(event: unknown): S3ObjectRef[] {
  const shape = typeof event === 'object' && event !== null && !Array.isArray(event) ? (event as Record<string, unknown>) : undefined;
  if (shape && 'Records' in shape) {
    return parseWith(notificationSchema, event).Records.map((r) =>
      compact({
        bucket: r.s3.bucket.name,
        key: r.s3.object.key,
        size: r.s3.object.size,
        etag: r.s3.object.eTag,
        versionId: r.s3.object.versionId,
        sequencer: r.s3.object.sequencer,
        eventTime: r.eventTime,
        eventName: r.eventName,
        source: 's3-notification',
      }),
    );
  }
  if (shape && ('detail-type' in shape || 'detail' in shape)) {
    const e = parseWith(eventBridgeSchema, event);
    const { object } = e.detail;
    return [
      compact({
        bucket: e.detail.bucket.name,
        key: object.key,
        size: object.size,
        etag: object.etag,
        versionId: object['version-id'],
        sequencer: object.sequencer,
        eventTime: e.time,
        eventName: e.detail.reason ? `${e['detail-type']}:${e.detail.reason}` : e['detail-type'],
        source: 'eventbridge',
      }),
    ];
  }
  throw new InputValidationError(
    [{ path: '', message: 'not an S3 event: expected an EventBridge event from aws.s3 or an S3 notification with Records' }],
    'S3 event',
  );
}
