import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import * as zlib from 'node:zlib';
import { uploadRequestTimeoutMs } from './s3-client.ts';

/** S3's smallest part (every part but the last must be at least this big). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's most parts per upload. */
export const MAX_PARTS = 10_000;

export interface MultipartWriterOptions {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  /** Bytes per part, ≥ 5 MiB (default 5 MiB). */
  partSize?: number;
  /** Parts uploading at once (default 2). */
  partsInFlight?: number;
  /**
   * Part buffers, ≥ partsInFlight (default partsInFlight + 1: one fills while the others upload).
   * The writer's memory: buffers × partSize at most, allocated as needed (or taken over from writers
   * that succeeded before it).
   */
  buffers?: number;
  /**
   * How many bytes the body will probably have. Past one part, the multipart upload is created
   * with the first write, while the first part fills, instead of once it is full: the first part
   * then need not wait for the create (~0.1–0.2 s on a cold start). Should the body fit one part
   * after all, the early upload is aborted and the body goes up as one PutObject, as without.
   */
  expectedBytes?: number;
  /** Aborting stops the upload (in-flight requests cancelled, multipart upload aborted); nothing becomes visible. */
  signal?: AbortSignal;
  /** AbortMultipartUpload failed: the parts stay until the bucket's lifecycle rule removes them. */
  onAbortFailure?: (error: unknown) => void;
  /**
   * How long the AbortMultipartUpload after a failure may take (default 2 s) before it is given up
   * and reported through onAbortFailure: a stop's cleanup must end within the deadline's reserve,
   * where S3's slowest answer has the client's whole retry budget.
   */
  cleanupMs?: number;
  /** Called once, as soon as the writer fails (a part, the create, the signal…): stop producing. */
  onError?: (error: unknown) => void;
}

export interface MultipartWriteResult {
  etag: string | undefined;
  versionId: string | undefined;
  bytes: number;
  /** 0: the body fitted in one part and went up as a single PutObject. */
  parts: number;
}

/** The AbortMultipartUpload after a failure, at most (see cleanupMs). */
export const DEFAULT_CLEANUP_MS = 2_000;

type Pending = { bytes: Uint8Array; offset: number };

/**
 * Part buffers of writers that succeeded, by part size, for the next writers: a warm Lambda
 * invocation would otherwise allocate its buffers (15 MiB for csv-validator) while the last
 * invocation's still wait for a GC. A failed writer's buffers are never kept: a cancelled request
 * may still be reading them.
 */
const spareBuffers = new Map<number, Buffer[]>();
/**
 * A spare that the next invocation does not take still counts against the function's memory. Three
 * is what csv-validator's writers hold when its memory is tightest (large files: silver 2,
 * quarantine 1); a small file's fourth and fifth buffers are allocated anew.
 */
const MAX_SPARE_BUFFERS = 3;

/** zlib.crc32 (Node ≥ 20.15, 22.2): native, ~5 GB/s here. Without it parts are signed as the SDK signs them. */
const crc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** A part's CRC32 as S3 wants it: the 4 bytes big-endian, base64. */
function crc32Base64(data: Uint8Array): string {
  const value = Buffer.alloc(4);
  value.writeUInt32BE((crc32 as (data: Uint8Array) => number)(data) >>> 0);
  return value.toString('base64');
}

/**
 * Writes an object to S3 from many small writes, in a fixed amount of memory: part buffers are
 * allocated as needed (at most `buffers`), filled in place and reused.
 *
 * Why not lib-storage's Upload: it reads a stream, concatenates the chunks of each part into a new
 * buffer (and the stream holds its own copies), so every part is copied at least twice and the
 * copies linger until a full GC — tens of MB above the parts themselves, growing with the
 * pressure on the heap. Here the bytes are copied once, into a buffer the SDK sends as is.
 *
 * - The multipart upload is created lazily (once a part is full, or with the first write when
 *   `expectedBytes` says the body will need parts): a body that fits one part goes up as one PutObject.
 * - A part buffer is reused only after its UploadPart has resolved (until then the SDK may still
 *   read it: signing, checksums, retries).
 * - `write()` always takes the data; false means every buffer is full or uploading and the data
 *   waits in a queue — stop writing until `drained()` resolves, or memory grows.
 * - Each part carries its CRC32, which S3 checks, and is signed as UNSIGNED-PAYLOAD: SigV4 would
 *   otherwise SHA-256 every byte uploaded (~4 % of csv-validator's CPU) only to protect what the
 *   checksum protects already — the pairing AWS's own CRT transfer client uses.
 * - Any failure (a part, the create, the complete, `abort()`, the signal) cancels the requests in
 *   flight and aborts the multipart upload; `end()` rejects with the original error. An abort that
 *   fails itself is reported to `onAbortFailure`, never in place of that error.
 */
export class MultipartWriter {
  readonly #options: MultipartWriterOptions;
  readonly #partSize: number;
  readonly #maxBuffers: number;
  readonly #partsInFlight: number;
  /** expectedBytes says the body needs parts: the upload is created with the first write. */
  readonly #createEarly: boolean;
  /** Cancels the requests in flight when the writer fails. */
  readonly #requests = new AbortController();
  readonly #free: Buffer[] = [];
  #allocated = 0;
  #current: Buffer | undefined;
  #used = 0;
  /** Full buffers waiting for an upload slot, in part order. */
  readonly #full: { buffer: Buffer; size: number; partNumber: number }[] = [];
  /** Data that found no buffer: written as buffers come back. */
  readonly #pending: Pending[] = [];
  #inFlight = 0;
  #partNumber = 0;
  readonly #parts: CompletedPart[] = [];
  #bytes = 0;
  #uploadId: Promise<string> | undefined;
  #createdUploadId: string | undefined;
  #ended = false;
  #succeeded = false;
  #failure: { error: unknown } | undefined;
  #stopped: Promise<void> | undefined;
  /** The abort of an upload created early for a body that then fit one PutObject. */
  #earlyAbort: Promise<void> | undefined;
  #result: Promise<MultipartWriteResult> | undefined;
  /** Woken whenever a part finishes or the writer fails. */
  #waiters: (() => void)[] = [];
  readonly #onSignal: (() => void) | undefined;

  constructor(options: MultipartWriterOptions) {
    const partSize = options.partSize ?? MIN_PART_SIZE;
    const partsInFlight = options.partsInFlight ?? 2;
    if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE) throw new RangeError(`partSize must be a whole number ≥ ${MIN_PART_SIZE} (5 MiB), got ${partSize}`);
    if (!Number.isInteger(partsInFlight) || partsInFlight < 1) throw new RangeError(`partsInFlight must be a whole number ≥ 1, got ${partsInFlight}`);
    const buffers = options.buffers ?? partsInFlight + 1;
    if (!Number.isInteger(buffers) || buffers < partsInFlight) throw new RangeError(`buffers must be a whole number ≥ partsInFlight (${partsInFlight}), got ${buffers}`);
    this.#options = options;
    this.#partSize = partSize;
    this.#partsInFlight = partsInFlight;
    this.#maxBuffers = buffers;
    this.#createEarly = (options.expectedBytes ?? 0) > partSize;
    const signal = options.signal;
    if (signal) {
      this.#onSignal = () => void this.abort(signal.reason);
      if (signal.aborted) this.#onSignal();
      else signal.addEventListener('abort', this.#onSignal, { once: true });
    }
  }

  /** Bytes accepted so far. */
  get bytesWritten(): number {
    return this.#bytes;
  }

  /**
   * Copies `data` into the part buffers (strings as UTF-8); the caller may reuse its buffer at once.
   * False: some of the data is queued because every buffer is full or uploading — wait for
   * `drained()` before writing more. Throws once the writer has failed (with the failure) or ended.
   */
  write(data: string | Uint8Array): boolean {
    if (this.#failure) throw this.#failure.error;
    if (this.#ended) throw new Error(`write after end(): s3://${this.#options.bucket}/${this.#options.key}`);
    if (this.#createEarly && this.#uploadId === undefined) {
      // Observed here: a failed create fails the writer now, not when the first part awaits it.
      this.#multipartUploadId().catch((error: unknown) => this.#fail(error));
    }
    let owned = false;
    if (typeof data === 'string') {
      if (data.length === 0) return this.#accepting();
      // The common case, without an intermediate Buffer: the text certainly fits (≤ 3 bytes per UTF-16 unit).
      if (this.#pending.length === 0 && this.#room() >= data.length * 3) {
        const n = (this.#current as Buffer).write(data, this.#used, 'utf8');
        this.#used += n;
        this.#bytes += n;
        return this.#accepting();
      }
      data = Buffer.from(data, 'utf8');
      owned = true;
    }
    this.#bytes += data.length;
    let offset = 0;
    if (this.#pending.length === 0) offset = this.#copy(data, 0);
    // Whatever found no buffer waits in a queue: a copy, unless the bytes are ours already.
    if (offset < data.length) this.#pending.push({ bytes: owned ? data : Buffer.from(data.subarray(offset)), offset: owned ? offset : 0 });
    return this.#accepting();
  }

  /** Resolves when write() may go on; rejects with the failure if the writer fails first. */
  async drained(): Promise<void> {
    while (!this.#failure && this.#pending.length > 0) await this.#wait();
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * Uploads what is left and completes the object (or PUTs it whole if it fits one part). Resolves
   * when the object exists; rejects with the original error after aborting if anything failed.
   * Calling it again returns the same promise.
   */
  end(): Promise<MultipartWriteResult> {
    if (!this.#result) {
      this.#ended = true;
      this.#result = this.#finish();
      // Handled here so that a failure nobody awaits is not an unhandled rejection; callers still see it.
      this.#result.catch(() => undefined);
    }
    return this.#result;
  }

  /**
   * Stops the upload: requests in flight are cancelled and the multipart upload is aborted.
   * `end()` then rejects with `reason` — also when S3 had already stored the object and its answer
   * was still on the way (the caller hears of the stop, as `onError` did; the object stays, as
   * after any request whose answer is lost). Resolves once the abort has been attempted; never rejects.
   */
  abort(reason: unknown = new Error(`upload of s3://${this.#options.bucket}/${this.#options.key} aborted`)): Promise<void> {
    this.#fail(reason);
    // Already complete: nothing to abort.
    return this.#stopped ?? Promise.resolve();
  }

  #accepting(): boolean {
    return this.#pending.length === 0;
  }

  /** Free bytes in the current buffer, taking a buffer if there is none (0: none to take). */
  #room(): number {
    if (this.#failure) return 0;
    if (this.#current && this.#used < this.#partSize) return this.#partSize - this.#used;
    if (this.#current) this.#seal();
    const buffer = this.#free.pop() ?? (this.#allocated < this.#maxBuffers ? this.#allocate() : undefined);
    if (!buffer) return 0;
    this.#current = buffer;
    this.#used = 0;
    return this.#partSize;
  }

  #allocate(): Buffer {
    this.#allocated++;
    const spare = spareBuffers.get(this.#partSize)?.pop();
    if (spare) return spare;
    // Outside Node's shared pool: a part buffer is big and lives as long as the writer.
    return Buffer.allocUnsafeSlow(this.#partSize);
  }

  /** Copies `data` from `offset` into buffers for as long as there are buffers; returns where it stopped. */
  #copy(data: Uint8Array, offset: number): number {
    while (offset < data.length) {
      const room = this.#room();
      if (room === 0) break;
      const n = Math.min(room, data.length - offset);
      (this.#current as Buffer).set(data.subarray(offset, offset + n), this.#used);
      this.#used += n;
      offset += n;
    }
    return offset;
  }

  /** Moves queued data into buffers for as long as there are buffers to fill. */
  #fill(): void {
    while (this.#pending.length > 0) {
      const first = this.#pending[0] as Pending;
      first.offset = this.#copy(first.bytes, first.offset);
      if (first.offset < first.bytes.length) return;
      this.#pending.shift();
    }
  }

  /**
   * The current buffer is full and more data follows: it becomes a part. (Sealed only then, so that
   * a body of exactly one part can still go up as one PutObject.)
   */
  #seal(): void {
    const buffer = this.#current as Buffer;
    this.#current = undefined;
    this.#partNumber++;
    if (this.#partNumber > MAX_PARTS) {
      this.#fail(new Error(`s3://${this.#options.bucket}/${this.#options.key}: more than ${MAX_PARTS} parts of ${this.#partSize} bytes — raise partSize`));
      return;
    }
    this.#full.push({ buffer, size: this.#used, partNumber: this.#partNumber });
    this.#used = 0;
    this.#pump();
  }

  #pump(): void {
    while (!this.#failure && this.#full.length > 0 && this.#inFlight < this.#partsInFlight) {
      const part = this.#full.shift() as { buffer: Buffer; size: number; partNumber: number };
      this.#inFlight++;
      void this.#uploadPart(part.buffer, part.size, part.partNumber);
    }
  }

  async #uploadPart(buffer: Buffer, size: number, partNumber: number): Promise<void> {
    const { client, bucket, key } = this.#options;
    try {
      const uploadId = await this.#multipartUploadId();
      const body = buffer.subarray(0, size);
      const checksum = crc32 ? crc32Base64(body) : undefined;
      const command = new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ContentLength: size,
        ...(checksum ? { ChecksumCRC32: checksum } : {}),
      });
      if (checksum) {
        // Set before the signer, which then takes it as the payload's hash instead of hashing the body.
        command.middlewareStack.add(
          (next) => (args) => {
            const request = args.request as { headers?: Record<string, string> };
            if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
            return next(args);
          },
          { step: 'build', name: 'laminarUnsignedPayload' },
        );
      }
      // The client's request timeout is sized for a 5 MiB part; a larger one gets the time its bytes need.
      const out = await client.send(command, { abortSignal: this.#requests.signal, requestTimeout: uploadRequestTimeoutMs(size) });
      if (!out.ETag) throw new Error(`S3 answered UploadPart ${partNumber} of s3://${bucket}/${key} without an ETag`);
      this.#parts.push({
        PartNumber: partNumber,
        ETag: out.ETag,
        ...(checksum || out.ChecksumCRC32 ? { ChecksumCRC32: checksum ?? out.ChecksumCRC32 } : {}),
        ...(out.ChecksumCRC32C ? { ChecksumCRC32C: out.ChecksumCRC32C } : {}),
        ...(out.ChecksumSHA1 ? { ChecksumSHA1: out.ChecksumSHA1 } : {}),
        ...(out.ChecksumSHA256 ? { ChecksumSHA256: out.ChecksumSHA256 } : {}),
      });
    } catch (error) {
      this.#inFlight--;
      this.#fail(error);
      return;
    }
    this.#inFlight--;
    // The request is over: the SDK no longer reads the buffer, so it may be filled again.
    if (this.#failure) return;
    this.#free.push(buffer);
    this.#fill();
    this.#pump();
    this.#wake();
  }

  #multipartUploadId(): Promise<string> {
    this.#uploadId ??= (async () => {
      const { client, bucket, key, contentType } = this.#options;
      // Each part carries a CRC32 (ours, or the SDK's with checksums on): the upload declares it.
      const checksums = crc32 !== undefined || (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
      const out = await client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, ...(checksums ? { ChecksumAlgorithm: 'CRC32' } : {}) }),
        { abortSignal: this.#requests.signal },
      );
      if (!out.UploadId) throw new Error(`S3 answered CreateMultipartUpload of s3://${bucket}/${key} without an UploadId`);
      this.#createdUploadId = out.UploadId;
      return out.UploadId;
    })();
    return this.#uploadId;
  }

  async #finish(): Promise<MultipartWriteResult> {
    const { client, bucket, key, contentType } = this.#options;
    try {
      while (!this.#failure && this.#pending.length > 0) await this.#wait();
      this.#throwIfFailed();
      if (this.#partNumber === 0) {
        // Never sealed a part: the whole body is in the current buffer (or empty).
        if (this.#uploadId !== undefined) {
          const uploadId = await this.#uploadId;
          // Stopped while the create was under way: the buffer is gone, and the failure handles the upload.
          this.#throwIfFailed();
          // Created early (expectedBytes) for a body that fits one PutObject after all: aborted
          // alongside the PutObject, and never again should the PutObject fail (a failure waits
          // for this abort too: #abortUpload).
          this.#earlyAbort = this.#abortMultipartUpload(uploadId);
        }
        const body = this.#current ? this.#current.subarray(0, this.#used) : Buffer.alloc(0);
        const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }), {
          abortSignal: this.#requests.signal,
          requestTimeout: uploadRequestTimeoutMs(body.length),
        });
        await this.#earlyAbort;
        // Stopped after S3 stored the object but before its answer was read: the stop wins (see abort()).
        this.#throwIfFailed();
        return this.#succeed({ etag: out.ETag, versionId: out.VersionId, bytes: this.#bytes, parts: 0 });
      }
      if (this.#current && this.#used > 0) this.#seal();
      while (!this.#failure && (this.#inFlight > 0 || this.#full.length > 0)) await this.#wait();
      this.#throwIfFailed();
      const parts = [...this.#parts].sort((a, b) => (a.PartNumber as number) - (b.PartNumber as number));
      const out = await client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: await this.#multipartUploadId(), MultipartUpload: { Parts: parts } }),
        { abortSignal: this.#requests.signal },
      );
      this.#throwIfFailed();
      return this.#succeed({ etag: out.ETag, versionId: out.VersionId, bytes: this.#bytes, parts: parts.length });
    } catch (error) {
      this.#fail(error);
      await this.#stopped;
      throw (this.#failure as { error: unknown }).error;
    }
  }

  #succeed(result: MultipartWriteResult): MultipartWriteResult {
    this.#succeeded = true;
    // Every request is over: the buffers are nobody's, and the next writer may have them.
    const spare = spareBuffers.get(this.#partSize) ?? [];
    spareBuffers.set(this.#partSize, spare);
    for (const buffer of [...this.#free, ...(this.#current ? [this.#current] : [])]) if (spare.length < MAX_SPARE_BUFFERS) spare.push(buffer);
    this.#release();
    return result;
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }

  /** The first failure wins: it is the one end() reports. */
  #fail(error: unknown): void {
    if (this.#failure || this.#succeeded) return;
    this.#failure = { error };
    this.#requests.abort(error);
    this.#pending.length = 0;
    this.#full.length = 0;
    this.#stopped = this.#abortUpload();
    this.#wake();
    this.#release();
    report(this.#options.onError, error);
  }

  async #abortUpload(): Promise<void> {
    // A create still in flight was cancelled above; wait for it so its id (if S3 answered) is known.
    await this.#uploadId?.catch(() => undefined);
    const uploadId = this.#createdUploadId;
    if (uploadId) await this.#abortMultipartUpload(uploadId);
    // An early upload given up for a one-part body may still be being aborted: the stop waits for it.
    await this.#earlyAbort;
  }

  /**
   * Aborts the multipart upload, once (it is no longer ours to abort afterwards), without the
   * writer's signal: stopping the writer must not leave the upload behind. A failure is reported
   * (the parts wait for the bucket's lifecycle rule), never thrown.
   */
  async #abortMultipartUpload(uploadId: string): Promise<void> {
    const { client, bucket, key } = this.#options;
    this.#createdUploadId = undefined;
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), {
        abortSignal: AbortSignal.timeout(this.#options.cleanupMs ?? DEFAULT_CLEANUP_MS),
      });
    } catch (abortError) {
      report(this.#options.onAbortFailure, abortError);
    }
  }

  /** Lets the buffers go (a failed writer's in-flight requests may still hold theirs until cancelled). */
  #release(): void {
    this.#current = undefined;
    this.#free.length = 0;
    if (this.#onSignal) this.#options.signal?.removeEventListener('abort', this.#onSignal);
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * Tells a caller's callback, which must not throw into the writer: called from parts uploading in
 * the background, a throw there became an unhandled rejection, which ends a Lambda environment.
 */
function report(callback: ((error: unknown) => void) | undefined, error: unknown): void {
  try {
    callback?.(error);
  } catch (callbackError) {
    console.error('a MultipartWriter callback threw (ignored):', callbackError);
  }
}
