import { setTimeout as wait } from 'node:timers/promises';
import { type FirehoseClient, PutRecordBatchCommand, type PutRecordBatchResponseEntry } from '@aws-sdk/client-firehose';
import { isRetryableByTrait, isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

/** Firehose's PutRecordBatch limits (per call, and per record before base64). */
export const FIREHOSE_LIMITS = {
  recordsPerCall: 500,
  bytesPerCall: 4 * 1024 * 1024,
  bytesPerRecord: 1000 * 1024,
} as const;

export interface PutRecordsOptions {
  client: FirehoseClient;
  deliveryStreamName: string;
  /** Attempts per record failing for any reason but throttling, the first included (default 4). */
  maxAttempts?: number;
  /**
   * Attempts per record while Firehose throttles it (default: `maxAttempts`). A throttle passes
   * with time, not with attempts: with a `remainingMs`, set it high and let the time left end them.
   */
  maxThrottledAttempts?: number;
  /** Backoff before round n: random in [0, min(maxDelayMs, baseDelayMs × 2^n)] ("full jitter"); 100 ms and 5 s by default. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * The time left for sending, in ms (a Lambda's: its deadline's `remainingMs`). A backoff it would
   * not outlast is not begun: the run returns then, its records failed with their last reason,
   * instead of sleeping until the signal cuts it short.
   */
  remainingMs?: () => number;
  /**
   * With `remainingMs`: the time a call needs after a backoff (default 1 s). A backoff is begun
   * only if this much is left once it ends: a call the stop cuts leaves its records in doubt (the
   * stop's reason, "Firehose may have taken it"), where they were only throttled, say.
   */
  callMarginMs?: number;
  signal?: AbortSignal;
  /** Test seam for the backoff wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A record that was not delivered, with the last reason Firehose (or this function) gave. */
export interface FailedRecord {
  /** Index in the records given. */
  index: number;
  errorCode: string;
  errorMessage: string;
  attempts: number;
  /**
   * Set when a call that carried it got no response, whatever its last reason: Firehose may hold
   * it already, so sending it again may deliver it twice.
   */
  mayHaveArrived?: true;
}

export interface PutRecordsResult {
  records: number;
  delivered: number;
  failed: FailedRecord[];
  /** PutRecordBatch calls made (retries included). */
  calls: number;
  /** Records those calls carried (a retried record counts each time). */
  sent: number;
  /** Records sent per call, on average: how well the batches were filled. */
  recordsPerCall: number;
  /** Bytes of record data accepted. */
  bytes: number;
  /**
   * Of `delivered`, the records an earlier call also carried without getting a response: Firehose
   * may have taken them then too, and delivered them twice.
   */
  possibleDuplicates: number;
}

/**
 * Errors worth another round after a backoff, classified as the SDK's own retry strategy does:
 * throttling, 5xx, timeouts and dropped connections (a reset or a hang-up carries no status code,
 * so a hand-made list of statuses and names missed it). Anything else (a missing stream, no
 * permission) will not pass by waiting.
 */
function isTransient(error: Error): boolean {
  const e = error as unknown as Parameters<typeof isTransientError>[0];
  return isRetryableByTrait(e) || isThrottlingError(e) || isTransientError(e) || isServerError(e);
}

/**
 * Firehose's throttle: ServiceUnavailableException, for an entry of a response or a whole call (503),
 * and whatever the SDK's classifier counts as throttling.
 */
const THROTTLED = 'ServiceUnavailableException';
const isThrottle = (error: Error) => error.name === THROTTLED || isThrottlingError(error as unknown as Parameters<typeof isThrottlingError>[0]);

/** Connect-phase failures: the request never reached a server. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * The request never left: no connection was made (refused, no such host or route, the connect
 * timed out). @smithy/node-http-handler's connectionTimeout error has no code, only its message:
 * "the request socket did not establish a connection with the server" in 4.x, "…without
 * establishing a connection…" before; a test against a listener that never accepts pins the
 * wording of the version installed.
 */
const neverSent = (error: Error) => {
  const code = (error as { code?: string }).code;
  return (code !== undefined && NOT_CONNECTED.has(code)) || /did not establish a connection|without establishing a connection/.test(error.message);
};

/**
 * No per-record results came back for a request that was sent: it may have reached Firehose before
 * the connection broke. That is so with no response at all, and with a 2xx whose body was cut
 * (reset, or stalled past the socket timeout): Firehose took the call, and the SDK's error carries
 * the 200 it read before the body failed.
 */
const unanswered = (error: Error) => {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (status === undefined || (status >= 200 && status < 300)) && !neverSent(error);
};

/**
 * The failure's name, or for a Node network error (all named "Error") its code (ECONNRESET,
 * EAI_AGAIN…): `failuresByCode` would otherwise lump every network fault under "Error".
 */
const errorCodeOf = (error: Error) => (error.name && error.name !== 'Error' ? error.name : ((error as { code?: unknown }).code as string | undefined) ?? 'Error');

const stopReason = (signal: AbortSignal) => (signal.reason instanceof Error ? signal.reason.message : String(signal.reason));

/**
 * The most attempts of either kind: a record makes fewer than the two together, which the counters
 * below hold (a byte once wrapped at 256, and never ended).
 */
const MAX_ATTEMPTS = 1_000;

/**
 * Sends records with PutRecordBatch, filling each call up to Firehose's limits (500 records, 4 MiB),
 * and retries only the entries a response reports as failed — PutRecordBatch is not atomic: a call
 * can succeed with FailedPutCount > 0, and resending the whole batch would duplicate the rest.
 *
 * Written here because the SDK retries whole requests (throttling, 5xx) but knows nothing of
 * per-entry failures inside a 200 response, and lib-storage has no Firehose counterpart.
 *
 * Every record ends in `delivered` or in `failed` with its reason: an oversized record is failed
 * up front; a call that fails as a whole (after the SDK's own retries, if its client makes any)
 * with a throttle, a 5xx, a timeout or a dropped connection makes the round back off and try
 * again, within the records' attempts; any other whole-call failure, the signal, or a backoff longer than the time left ends
 * the run with every record not delivered failed — never thrown, so the caller always learns what
 * was delivered. A throttled record has attempts of its own (`maxThrottledAttempts`): Firehose
 * throttles for seconds at a time, longer than a few faults' worth of backoff. The records of
 * a call that got no response (cut by the signal, or its connection dropped) are `InDoubt`:
 * Firehose may have taken them. Records no call carried are `NotSent`. That a call went
 * unanswered is not forgotten when a later one answers: a record failed otherwise afterwards is
 * still `mayHaveArrived`, and one delivered afterwards counts in `possibleDuplicates`.
 */
export async function putRecords(records: readonly Uint8Array[], options: PutRecordsOptions): Promise<PutRecordsResult> {
  const maxAttempts = attemptsOption('maxAttempts', options.maxAttempts ?? 4);
  const maxThrottledAttempts = attemptsOption('maxThrottledAttempts', options.maxThrottledAttempts ?? maxAttempts);
  const baseDelayMs = options.baseDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const callMarginMs = options.callMarginMs ?? 1_000;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => wait(ms, undefined, { signal }));
  /** Calls that carried each record, and of those the ones that throttled it. */
  const attempts = new Uint16Array(records.length);
  const throttles = new Uint16Array(records.length);
  /** 1 once a call carrying the record got no response (Firehose may have taken it). */
  const unansweredCall = new Uint8Array(records.length);
  const mayRetry = (i: number, throttled: boolean) =>
    throttled ? (throttles[i] as number) < maxThrottledAttempts : (attempts[i] as number) - (throttles[i] as number) < maxAttempts;
  const failed = new Map<number, FailedRecord>();
  let delivered = 0;
  let possibleDuplicates = 0;
  let calls = 0;
  let sent = 0;
  let bytes = 0;

  let pending: number[] = [];
  for (let i = 0; i < records.length; i++) {
    const size = (records[i] as Uint8Array).byteLength;
    if (size > FIREHOSE_LIMITS.bytesPerRecord) {
      failed.set(i, { index: i, errorCode: 'RecordTooLarge', errorMessage: `${size} bytes; Firehose accepts at most ${FIREHOSE_LIMITS.bytesPerRecord} per record`, attempts: 0 });
    } else pending.push(i);
  }

  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) {
      const delay = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** round);
      const left = options.remainingMs?.();
      if (left !== undefined && delay + callMarginMs >= left) {
        // The stop would come before this wait ended, or cut the call after it: the records keep
        // the reason they last failed with rather than a stop's.
        leftOut(pending, `no time left to try again: a ${Math.ceil(delay)} ms backoff and a ${callMarginMs} ms call with ${Math.max(0, Math.floor(left))} ms left`);
        return finish();
      }
      try {
        await sleep(delay, options.signal);
      } catch {
        // Stopped (the invocation's deadline): what was delivered stays counted; the records waiting
        // for this retry are failed already, with the reason they last failed with.
        if (options.signal?.aborted) leftOut(pending, stopReason(options.signal));
        return finish();
      }
    }
    const retry: number[] = [];
    const batches = batchesOf(pending, records);
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b] as number[];
      if (options.signal?.aborted) {
        // The SDK would refuse the call at once, before it reached Firehose: neither this batch nor
        // the ones after it were sent, and no call was made.
        leftOut(batches.slice(b).flat(), stopReason(options.signal));
        return finish();
      }
      let response: PutRecordBatchResponseEntry[];
      try {
        calls++;
        sent += batch.length;
        const out = await options.client.send(
          new PutRecordBatchCommand({ DeliveryStreamName: options.deliveryStreamName, Records: batch.map((i) => ({ Data: records[i] })) }),
          { abortSignal: options.signal },
        );
        response = out.RequestResponses ?? [];
      } catch (error) {
        const notSent = batches.slice(b + 1).flat();
        for (const i of batch) attempts[i] = (attempts[i] as number) + 1;
        if (options.signal?.aborted) {
          // Cut short by the stop: the SDK says only "Request aborted", and Firehose may have taken
          // the call before it was cut — its records are in doubt, not failed; the ones after it
          // were never sent. Either way the caller's retry sends them (again).
          const why = stopReason(options.signal);
          for (const i of batch) {
            unansweredCall[i] = 1;
            failed.set(i, { index: i, errorCode: 'InDoubt', errorMessage: `its call was under way when the run stopped (${why}): Firehose may have taken it`, attempts: attempts[i] as number });
          }
          leftOut(notSent, why);
          return finish();
        }
        const e = error as Error;
        const code = errorCodeOf(e);
        const transient = isTransient(e);
        const throttled = transient && isThrottle(e);
        if (throttled) for (const i of batch) throttles[i] = (throttles[i] as number) + 1;
        const inDoubt = transient && unanswered(e);
        // Only a transient failure can be a request that got out: one that failed before it was
        // sent (no credentials, say) has no response either, yet never reached Firehose.
        for (const i of batch) {
          if (inDoubt) unansweredCall[i] = 1;
          failed.set(
            i,
            inDoubt
              ? { index: i, errorCode: 'InDoubt', errorMessage: `its call got no response (${code}: ${e.message}): Firehose may have taken it`, attempts: attempts[i] as number }
              : { index: i, errorCode: code, errorMessage: e.message, attempts: attempts[i] as number },
          );
        }
        leftOut(notSent, `an earlier call failed (${code}: ${e.message})`);
        // A throttle, a 5xx or a dropped connection (that the SDK's own retries, if any, did not
        // outlast): the whole round backs off and tries again (this batch counting an attempt, the
        // ones not sent yet none). Anything else is not going to pass: every record is failed.
        if (!transient) return finish();
        retry.push(...batch.filter((i) => mayRetry(i, throttled)), ...notSent);
        break;
      }
      for (let k = 0; k < batch.length; k++) {
        const i = batch[k] as number;
        attempts[i] = (attempts[i] as number) + 1;
        const entry = response[k];
        if (entry && !entry.ErrorCode && entry.RecordId) {
          delivered++;
          if (unansweredCall[i]) possibleDuplicates++;
          bytes += (records[i] as Uint8Array).byteLength;
          failed.delete(i);
          continue;
        }
        const failure = {
          index: i,
          errorCode: entry?.ErrorCode ?? 'MissingResponse',
          errorMessage: entry?.ErrorMessage ?? 'the response had no entry for this record',
          attempts: attempts[i] as number,
        };
        failed.set(i, failure);
        const throttled = failure.errorCode === THROTTLED;
        if (throttled) throttles[i] = (throttles[i] as number) + 1;
        if (mayRetry(i, throttled)) retry.push(i);
      }
    }
    pending = retry;
  }
  return finish();

  /**
   * Records a run ends without sending this round: `NotSent` if no call carried them yet; sent
   * before, they keep the reason they last failed with (an `InDoubt` one may have arrived).
   */
  function leftOut(indexes: readonly number[], why: string): void {
    for (const i of indexes) {
      const last = failed.get(i);
      if (!last || last.errorCode === 'NotSent') failed.set(i, { index: i, errorCode: 'NotSent', errorMessage: why, attempts: attempts[i] as number });
    }
  }

  function finish(): PutRecordsResult {
    return {
      records: records.length,
      delivered,
      failed: [...failed.values()].sort((a, b) => a.index - b.index).map((f) => (unansweredCall[f.index] ? { ...f, mayHaveArrived: true } : f)),
      calls,
      sent,
      recordsPerCall: calls === 0 ? 0 : sent / calls,
      bytes,
      possibleDuplicates,
    };
  }
}

function attemptsOption(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_ATTEMPTS) {
    throw new RangeError(`${name} must be a whole number from 1 to ${MAX_ATTEMPTS}, not ${value}`);
  }
  return value;
}

/** Splits record indexes into calls of at most 500 records and 4 MiB. */
export function batchesOf(indexes: readonly number[], records: readonly Uint8Array[]): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let size = 0;
  for (const i of indexes) {
    const n = (records[i] as Uint8Array).byteLength;
    if (current.length === FIREHOSE_LIMITS.recordsPerCall || (current.length > 0 && size + n > FIREHOSE_LIMITS.bytesPerCall)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(i);
    size += n;
  }
  if (current.length) out.push(current);
  return out;
}
