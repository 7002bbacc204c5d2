import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { stopReason } from '@laminar/runtime';
import { DEFAULT_CLEANUP_MS } from './multipart-writer.ts';

export interface StreamUploadOptions {
  client: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  contentType: string;
  /**
   * ≥ 5 MiB (S3's minimum part size). Memory held ≈ partSize × queueSize. Each part has the S3
   * client's 30 s request timeout (lib-storage passes no per-request one): past ~7 MiB a slow link fails parts.
   */
  partSize?: number;
  queueSize?: number;
  /** Aborting stops the upload and nothing becomes visible — unless the body has ended: see below. */
  signal?: AbortSignal;
  /** How long a stop that comes after the body ended lets the upload finish (default 3 s): see below. */
  lateStopGraceMs?: number;
  /**
   * How long the clean-up after a failure may take (default 2 s): waiting for a create still in
   * flight, then AbortMultipartUpload. Past it the clean-up is given up and reported through
   * onAbortFailure, and the failure thrown: a stop's clean-up must end within the deadline's
   * reserve, where S3's slowest answer has the client's whole retry budget.
   */
  cleanupMs?: number;
  onAbortFailure?: (error: unknown) => void;
}

export interface StreamUploadResult {
  etag: string | undefined;
  versionId: string | undefined;
}

/**
 * Streams a body into S3: one PUT when it fits one part, a multipart upload otherwise. The object
 * appears only when the upload completes; on any failure the multipart upload is aborted and the
 * original error is rethrown.
 *
 * lib-storage can abort on error itself (leavePartsOnError: false), but when that abort fails it
 * throws the abort's error and the cause is lost — so we keep the parts and abort here, reporting
 * an abort failure separately (a bucket lifecycle rule removes whatever an abort leaves behind).
 */
export async function uploadStream(options: StreamUploadOptions): Promise<StreamUploadResult> {
  const upload = new Upload({
    client: options.client,
    params: { Bucket: options.bucket, Key: options.key, Body: options.body, ContentType: options.contentType },
    // The minimum part size and two parts in flight keep memory flat (~10 MiB) whatever the
    // object's size; a part per ~second of listing leaves S3 plenty of time for each.
    partSize: options.partSize ?? 5 * 1024 * 1024,
    queueSize: options.queueSize ?? 2,
    leavePartsOnError: true,
  });
  // Once the body has ended, what is left is at most the parts in flight (queueSize) and the last
  // PUT or CompleteMultipartUpload, which lib-storage sends without the abort signal: "aborting"
  // then made done() reject while the object still appeared, whole — a failure reported for an
  // object that exists. So a stop that comes that late lets the upload finish (a few requests,
  // which the deadline's reserve is there for) — for lateStopGraceMs: a request S3 is slow to
  // answer has the client's whole budget (attempts × request timeout), more than any reserve, and
  // past the grace the stop is reported, not Lambda's "Task timed out" with nothing said. The
  // object may then still appear, whole, as before: the caller's retry writes the same key.
  let ended = false;
  let lateStop: NodeJS.Timeout | undefined;
  if (options.signal) {
    options.body.once('end', () => {
      ended = true;
    });
  }
  /** Set when the stop did abort the upload: only then is the stop's reason the error to report. */
  let stoppedUs = false;
  const stop = () => {
    stoppedUs = true;
    void upload.abort();
  };
  const onAbort = () => {
    if (ended) lateStop = setTimeout(stop, options.lateStopGraceMs ?? 3_000);
    else stop();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Already stopped: 'abort' will not fire again, and lib-storage would upload the whole body.
    if (options.signal?.aborted) throw stopReason(options.signal) ?? new Error('the upload was stopped before it began');
    const result = await upload.done();
    return { etag: result.ETag, versionId: result.VersionId };
  } catch (err) {
    // Failed on its own during a late stop's grace: the grace's stop must not claim the failure.
    clearTimeout(lateStop);
    options.body.destroy();
    // A stop during CreateMultipartUpload rejects done() before lib-storage has the upload's id:
    // the create still completes, and without waiting for it the upload it opened stays open.
    const started = upload as unknown as { uploadId?: string; createMultiPartPromise?: Promise<{ UploadId?: string }> };
    const cleanup = AbortSignal.timeout(options.cleanupMs ?? DEFAULT_CLEANUP_MS);
    const reportAbortFailure = (abortError: unknown) => {
      // A reporter that throws must not replace the upload's own error, which is the one to rethrow.
      try {
        options.onAbortFailure?.(abortError);
      } catch {}
    };
    const givenUp = new Promise<'given up'>((resolve) => cleanup.addEventListener('abort', () => resolve('given up'), { once: true }));
    const created = started.uploadId ?? (started.createMultiPartPromise ? await Promise.race([started.createMultiPartPromise.then((r) => r.UploadId, () => undefined), givenUp]) : undefined);
    if (created === 'given up') {
      reportAbortFailure(new Error(`CreateMultipartUpload for s3://${options.bucket}/${options.key} did not answer within the clean-up's ${options.cleanupMs ?? DEFAULT_CLEANUP_MS} ms: an upload it opened is left to the bucket's lifecycle rule`));
    } else if (created) {
      await options.client.send(new AbortMultipartUploadCommand({ Bucket: options.bucket, Key: options.key, UploadId: created }), { abortSignal: cleanup }).catch(reportAbortFailure);
    }
    throw (stoppedUs ? stopReason(options.signal) : undefined) ?? err;
  } finally {
    clearTimeout(lateStop);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
