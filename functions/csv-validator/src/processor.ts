import { IdempotencyAlreadyInProgressError, IdempotencyConfig, IdempotencyItemNotFoundError, IdempotencyPersistenceLayerError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isObjectCreated, type S3ObjectRef } from '@laminar/aws';
import { stopReason } from '@laminar/runtime';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from 'aws-lambda';
import { LeasedDynamoDBPersistenceLayer } from './claim-lease.ts';
import { type Config, DEFAULT_LEASE_SECONDS } from './config.ts';
import { BRONZE_PREFIX, bareEtag } from './keys.ts';
import { currentVersionOf, type ValidateDeps, type ValidationResult, validateObject } from './validate.ts';

/** What one object of an event came to. */
export type ObjectOutcome =
  /**
   * `replayed`: this object version was already done; the stored result, nothing redone.
   * `superseded`: done, but its claim had lapsed and passed to another invocation meanwhile, whose
   * result is the one stored and counted: this one's counts are not.
   */
  | (ValidationResult & { replayed?: boolean; superseded?: boolean })
  /** Not something this function validates (another bucket, prefix or event type): logged. */
  | { status: 'ignored'; source: { bucket: string; key: string }; detail: string };

/** What an invocation lends the processing of its objects. */
export interface InvocationScope {
  requestId: string;
  checkDeadline: ValidateDeps['checkDeadline'];
  signal?: AbortSignal;
  warn?: ValidateDeps['warn'];
}

export interface ProcessorDeps {
  s3: S3Client;
  dynamo: DynamoDBClient;
  config: Pick<Config, 'LAKE_BUCKET' | 'SILVER_PREFIX' | 'QUARANTINE_PREFIX' | 'IDEMPOTENCY_TABLE' | 'IDEMPOTENCY_EXPIRY_SECONDS'> &
    Partial<Pick<Config, 'IDEMPOTENCY_LEASE_SECONDS'>>;
  /** Test seam: the claim's lease in ms, instead of config.IDEMPOTENCY_LEASE_SECONDS. */
  claimLeaseMs?: number;
  /** Test seam: options passed through to validateObject (part size, temp folder…). */
  validateOptions?: Partial<Pick<ValidateDeps, 'partSize' | 'tmpRoot' | 'maxRecordChars' | 'now'>>;
}

/** The idempotency key: one object version. Absent parts are null so the key is always 4 values. */
interface ObjectVersion {
  bucket: string;
  key: string;
  versionId: string | null;
  etag: string | null;
  size: number | null;
}

/**
 * Another invocation held the object for as long as this one could wait: retry later (Lambda
 * does); by then its result is stored, or its claim has lapsed and the retry takes it over.
 */
export class ObjectInProgressError extends Error {
  override name = 'ObjectInProgressError';
}

export interface Processor {
  /** Caps the in-progress claim's expiry (and its renewals) at this invocation's remaining time. */
  registerLambdaContext(context: Context): void;
  process(ref: S3ObjectRef, scope: InvocationScope): Promise<ObjectOutcome>;
}

/**
 * Validates each object version once. Powertools Idempotency keeps a record per
 * bucket/key/versionId/etag in DynamoDB:
 *
 * - first delivery: an IN_PROGRESS claim, a lease renewed while the work goes on and never past
 *   the invocation's deadline (claim-lease.ts), then the result;
 * - a second delivery (EventBridge and Lambda both deliver at least once): the stored result comes
 *   back, marked `replayed`, and nothing is read or written;
 * - a failure: validateObject aborted its uploads, the claim is deleted, the error is rethrown and
 *   Lambda's retry starts over;
 * - a crash (timeout, out of memory): nothing renews the claim, which expires within a lease
 *   (60 s); the next retry takes it over and rewrites the same deterministic keys;
 * - a delivery that finds the object claimed (a duplicate while the first is at work, or a retry
 *   that came before the dead attempt's lease lapsed) waits for the claim's outcome — the stored
 *   result, a released claim or a lapsed lease, each of which it then acts on — for up to half of
 *   its own remaining time, and only then fails with ObjectInProgressError for Lambda to retry.
 *   Why wait: the holder may be minutes into a large file, longer than Lambda's two retries
 *   (~1 and ~3 minutes) span, and a duplicate that only failed would end in the DLQ — a false
 *   alarm for an object that was processed. Waiting costs the duplicate's duration (rare: at-least-
 *   once deliveries) and a conditional write every few seconds; half the time is kept for the work
 *   should the claim lapse.
 */
export function createProcessor(deps: ProcessorDeps): Processor {
  const { config } = deps;
  const idempotency = new IdempotencyConfig({
    eventKeyJmesPath: '[bucket, key, versionId, etag]',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: config.IDEMPOTENCY_EXPIRY_SECONDS,
    responseHook: (response) => ({ ...(response as Record<string, never>), replayed: true }),
  });
  /** The object under way's warn(), for a renewal that fails while it is validated. */
  let warn: InvocationScope['warn'];
  /** Stops the object under way: its claim passed to another invocation (see process()). */
  let claimLost: AbortController | undefined;
  /** The object under way's own error, which Powertools replaces when releasing the claim fails. */
  let workError: unknown;
  /** The object under way finished after its claim had passed to another invocation. */
  let resultNotStored = false;
  let lambda: Context | undefined;
  const leaseMs = deps.claimLeaseMs ?? (config.IDEMPOTENCY_LEASE_SECONDS ?? DEFAULT_LEASE_SECONDS) * 1000;
  // A crashed holder's claim is taken over within this of its lapse: a few seconds against the
  // 60 s lease, one conditional write (and a read) per look.
  const claimPollMs = Math.min(5_000, Math.max(100, Math.floor(leaseMs / 12)));
  const persistenceStore = new LeasedDynamoDBPersistenceLayer({
    tableName: config.IDEMPOTENCY_TABLE,
    awsSdkV3Client: deps.dynamo,
    leaseMs,
    onRenewalFailure: ({ error, lost }) => {
      warn?.(
        lost
          ? 'the claim on this object lapsed and another invocation took it over: stopping this one, and waiting for its result'
          : 'could not renew the claim on this object; trying again',
        { error: String(error) },
      );
      if (lost) claimLost?.abort(new ClaimLostError('the claim on this object passed to another invocation'));
    },
    onResultNotStored: () => {
      resultNotStored = true;
      warn?.('finished, but the claim on this object had passed to another invocation: its result is the one stored');
    },
  });

  const validateOnce = makeIdempotent(
    // The scope (second argument) is not part of the key: dataIndexArgument picks the version.
    async (version: ObjectVersion, scope: InvocationScope): Promise<ValidationResult> => {
      try {
        const result = await validateObject(
          {
            bucket: version.bucket,
            key: version.key,
            versionId: version.versionId ?? undefined,
            etag: version.etag ?? undefined,
            size: version.size ?? undefined,
          },
          {
            s3: deps.s3,
            bucket: config.LAKE_BUCKET,
            silverPrefix: config.SILVER_PREFIX,
            quarantinePrefix: config.QUARANTINE_PREFIX,
            requestId: scope.requestId,
            checkDeadline: scope.checkDeadline,
            ...(scope.signal ? { signal: scope.signal } : {}),
            ...(scope.warn ? { warn: scope.warn } : {}),
            ...deps.validateOptions,
          },
        );
        // Thrown past the idempotency layer, which then deletes its record instead of storing it.
        if (result.status === 'skipped') throw new NotStored(result);
        return result;
      } catch (error) {
        workError = error;
        throw error;
      }
    },
    { persistenceStore, config: idempotency, keyPrefix: 'csv-validator', dataIndexArgument: 0 },
  );

  return {
    registerLambdaContext: (context) => {
      lambda = context;
      idempotency.registerLambdaContext(context);
    },
    async process(ref, scope) {
      const ignored = whyIgnored(ref, config.LAKE_BUCKET);
      if (ignored) {
        scope.warn?.(`ignored: ${ignored}`, { bucket: ref.bucket, key: ref.key, eventName: ref.eventName });
        return { status: 'ignored', source: { bucket: ref.bucket, key: ref.key }, detail: ignored };
      }
      const version: ObjectVersion = {
        bucket: ref.bucket,
        key: ref.key,
        versionId: ref.versionId && ref.versionId !== 'null' ? ref.versionId : null,
        etag: bareEtag(ref.etag) ?? null,
        size: ref.size ?? null,
      };
      if (version.versionId === null && version.etag === null) {
        // Without either, neither the idempotency key nor the output keys would name one version.
        const pinned = await pin(deps.s3, version, scope.signal);
        if (!pinned) {
          scope.warn?.('the object no longer exists and its event named no version: nothing to validate', { key: ref.key });
          return { status: 'ignored', source: { bucket: ref.bucket, key: ref.key }, detail: 'gone before it could be read; the event named no version or etag' };
        }
      }
      warn = scope.warn;
      // Set when the object is first found claimed: how long this delivery waits for the holder.
      let waitUntil: number | undefined;
      for (;;) {
        claimLost = new AbortController();
        workError = undefined;
        const signal = scope.signal ? AbortSignal.any([scope.signal, claimLost.signal]) : claimLost.signal;
        resultNotStored = false;
        try {
          const result = await validateOnce(version, { ...scope, signal });
          return resultNotStored ? { ...result, superseded: true } : result;
        } catch (error) {
          if (error instanceof NotStored) return error.result;
          // Its record could not be deleted either: it lapses within a lease, and the skip stands.
          if (workError instanceof NotStored) {
            scope.warn?.('could not release the claim on this object after a skip; it lapses within a lease', { error: String(error) });
            return workError.result;
          }
          const lost = claimLost.signal.aborted;
          // The claim was refused, and the record that held it was gone when Powertools read it:
          // its holder released it meanwhile (a skip is not stored). The object is free: claim it
          // again at once rather than fail this delivery (an empty-message error, and on Lambda a
          // retry a minute later).
          const released = error instanceof IdempotencyItemNotFoundError;
          if (!lost && !released && !(error instanceof IdempotencyAlreadyInProgressError)) {
            // Releasing the claim failed too (it lapses within a lease): the work's own error is
            // the one that says what happened, and the one the DLQ should keep.
            if (error instanceof IdempotencyPersistenceLayerError && workError !== undefined && workError !== error) {
              scope.warn?.('could not release the claim on this object after a failure; it lapses within a lease', { error: String(error) });
              throw workError;
            }
            throw error;
          }
          if (waitUntil === undefined) {
            waitUntil = Date.now() + Math.floor((lambda?.getRemainingTimeInMillis() ?? 0) / 2);
            if (Date.now() < waitUntil && !lost && !released) {
              scope.warn?.('another invocation holds this object: waiting for its result, or for its claim to lapse', { waitMs: waitUntil - Date.now() });
            }
          }
          if (Date.now() >= waitUntil || scope.signal?.aborted) {
            throw new ObjectInProgressError(
              `s3://${ref.bucket}/${ref.key} (${version.versionId ?? version.etag}) is claimed by another invocation, or by one that died before its timeout; a later retry will find the result or take the claim over`,
              { cause: error },
            );
          }
          if (!released) await sleep(Math.min(claimPollMs, waitUntil - Date.now()));
        } finally {
          claimLost = undefined;
        }
      }
    },
  };
}

/**
 * A skip (the version gone or replaced before it could be read) is not stored as the object's
 * outcome: stored, it was replayed for a day — to a re-upload of the same bytes in an unversioned
 * bucket (same key, same ETag), which was then never validated.
 */
class NotStored extends Error {
  override name = 'NotStored';
  constructor(readonly result: ValidationResult) {
    super(`not stored: ${result.status}`);
  }
}

/** This invocation's claim lapsed and another took it over: it stops, and waits for that one. */
class ClaimLostError extends Error {
  override name = 'ClaimLostError';
}

const CSV_SUFFIX = /\.(?:csv|CSV)$/;

function whyIgnored(ref: S3ObjectRef, lakeBucket: string): string | undefined {
  if (!isObjectCreated(ref)) return `not an object-created event (${ref.eventName})`;
  if (ref.bucket !== lakeBucket) return `bucket ${ref.bucket} is not the lake bucket ${lakeBucket}`;
  // The two spellings the trigger matches and the role's GetObject grant names: any other key
  // would only be denied, and end in the DLQ as a denial.
  if (!ref.key.startsWith(BRONZE_PREFIX) || !CSV_SUFFIX.test(ref.key)) return `key is not ${BRONZE_PREFIX}….csv or ….CSV (as the trigger matches)`;
  return undefined;
}

/** Fills in the etag (and version) of an event that carried neither; false if the object is gone. */
async function pin(s3: S3Client, version: ObjectVersion, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: version.bucket, Key: version.key }), { abortSignal: signal });
    version.etag = bareEtag(head.ETag) ?? null;
    if (head.VersionId && head.VersionId !== 'null') version.versionId = head.VersionId;
    if (head.ContentLength !== undefined) version.size = head.ContentLength;
    return version.etag !== null || version.versionId !== null;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return false;
    // S3 answers a HEAD of a missing key 403 to this role, as a GET (validate.ts): a listing of the
    // key tells a deleted object from a real denial.
    if (status === 403 && (await currentVersionOf({ s3, signal }, version.bucket, version.key)) === null) return false;
    throw stopReason(signal) ?? error;
  }
}
