import { ClientError } from '@laminar/runtime';

/** Why a whole file went to quarantine instead of being validated row by row. */
export type FileRejectReason =
  /** 0 bytes, or nothing but a byte-order mark / whitespace. */
  | 'empty-file'
  /** NUL bytes, a known binary signature (zip, gzip, PDF…), or mostly control characters. */
  | 'binary'
  /** A byte-order mark of an encoding we do not read (UTF-32). */
  | 'unsupported-encoding'
  /** Required columns missing (maybe renamed), or a column named twice. */
  | 'header'
  /** A record longer than the limit: usually a quote that is never closed. */
  | 'record-too-large'
  /** A quote never closed, or malformed, whose record runs over several lines: row boundaries are lost. */
  | 'unbalanced-quotes';

/**
 * The file can be read but is not an orders CSV: retrying cannot help, so the invocation ends
 * normally with the file in quarantine and this reason in its manifest — except for a poison
 * file (POISON_REASONS), which then fails the invocation with PoisonFileError.
 */
export class FileRejection extends Error {
  override name = 'FileRejection';
  constructor(
    readonly reason: FileRejectReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Rejections that make a file poison: it is no text we can read at all, so a human has to look
 * at it (and at what produced it). The other rejections are CSV problems — an empty file, a wrong
 * header, a quote never closed — that the quarantine manifest records well enough.
 */
export const POISON_REASONS: ReadonlySet<FileRejectReason> = new Set<FileRejectReason>(['binary', 'unsupported-encoding']);

/**
 * Thrown after a poison file's quarantine manifest is written, so that the asynchronous invocation
 * fails on purpose: Lambda retries it (cheaply — the first chunk decides), then sends the event
 * with this error to the on-failure DLQ, whose alarm calls a human. The data lake keeps the
 * manifest either way. Powertools Idempotency deletes the claim of a call that throws, so no
 * retry replays a stored "success".
 */
export class PoisonFileError extends ClientError {
  override name = 'PoisonFileError';
  /** An earlier attempt of this request found it (its manifest, with this request id, says so): counted and logged then. */
  readonly repeated: boolean;
  constructor(
    readonly reason: FileRejectReason,
    readonly source: { bucket: string; key: string },
    readonly manifest: string,
    detail: string,
    { repeated = false }: { repeated?: boolean } = {},
  ) {
    super(`poison file s3://${source.bucket}/${source.key} (${reason}): ${detail}; quarantine manifest ${manifest}`, {
      reason,
      bucket: source.bucket,
      key: source.key,
      manifest,
    });
    this.repeated = repeated;
  }
}
