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
  | 'record-too-large';

/**
 * The file can be read but is not an orders CSV: retrying cannot help, so the invocation ends
 * normally with the file in quarantine and this reason in its manifest.
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
