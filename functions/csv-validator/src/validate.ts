import { PassThrough, pipeline, type Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MIN_PART_SIZE, MultipartWriter } from '@laminar/aws';
import { stopReason } from '@laminar/runtime';
import { type CsvBatch, CsvReader } from './csv.ts';
import { type EncodingReport, SniffingDecoder, utf8Read } from './decoding.ts';
import { DuplicateDetector, MAX_FILTER_BYTES } from './duplicates.ts';
import { deriveExplainer, reasonOf } from './explain.ts';
import { deriveRowParser, INVALID } from './fast-validator.ts';
import { checkHeader, type ExpectedColumn, type HeaderOutcome, headerReport } from './header.ts';
import { deriveJsonLineEncoder, JsonLineBuffer } from './json-line.ts';
import { rejectedLine } from './jsonl.ts';
import { bareEtag, type OutputKeys, outputKeys } from './keys.ts';
import { type FileRejectReason, FileRejection, POISON_REASONS, PoisonFileError } from './outcome.ts';
import { ORDER_COLUMNS, type OrderRow, orderRowSchema, shown } from './schema.ts';
import { TimeSlices } from './time-slices.ts';
import { YoungGenerationCap } from './young-generation.ts';

/** The object to validate: an event's object, with the version or etag that pins its content. */
export interface SourceRef {
  bucket: string;
  key: string;
  versionId?: string | undefined;
  etag?: string | undefined;
  size?: number | undefined;
}

export interface ValidateDeps {
  s3: S3Client;
  /** Where outputs go (the lake bucket). */
  bucket: string;
  silverPrefix: string;
  quarantinePrefix: string;
  requestId: string;
  /** Throws (DeadlineExceededError) when the invocation must stop; called for every chunk read. */
  checkDeadline: (what: string) => void;
  /** Aborted when the invocation must stop: cancels the read and the uploads in flight. */
  signal?: AbortSignal;
  now?: () => Date;
  warn?: (message: string, fields?: Record<string, unknown>) => void;
  /** Spill files of the duplicate check (default: the OS temp folder — /tmp on Lambda). */
  tmpRoot?: string;
  /** Multipart part size (≥ 5 MiB). */
  partSize?: number;
  maxRecordChars?: number;
}

export type FileStatus = 'validated' | 'rejected' | 'skipped';
export type SkipReason = 'source-missing' | 'source-changed';

export interface ValidationResult {
  source: { bucket: string; key: string; versionId?: string; etag?: string; size?: number };
  /**
   * validated: rows were checked one by one (valid ones in silver, the others in quarantine);
   * rejected: the file as a whole is not an orders CSV (manifest in quarantine, no rows written);
   * skipped: the object version the event announced can no longer be read.
   */
  status: FileStatus;
  reason?: FileRejectReason | SkipReason;
  detail?: string;
  /** Records after the header (blank lines are not records). Always rowsRead = valid + rejected. */
  rowsRead: number;
  valid: number;
  rejected: number;
  blankLines: number;
  encoding?: EncodingReport;
  header?: HeaderOutcome & { columnCount: number };
  outputs: { silver: string | null; quarantine: string | null; manifests: string[] };
  startedAt: string;
  finishedAt: string;
}

/** `_manifest.json`: the result, plus who wrote it. Written last: its presence means "complete". */
export interface Manifest extends ValidationResult {
  manifestVersion: 1;
  requestId: string;
}

export const JSONL_CONTENT_TYPE = 'application/x-ndjson';
const MAX_RECORD_CHARS = 1 << 20;

const EXPECTED_COLUMNS: ExpectedColumn[] = ORDER_COLUMNS.map((name) => ({
  name,
  // Derived from the schema: a column whose value may be undefined may be left out of the header.
  required: !orderRowSchema.shape[name].safeParse(undefined).success,
}));

/**
 * Validates one CSV object end to end: GetObject (pinned to the event's version and etag) →
 * decoding → papaparse → per-row validation → two multipart uploads (silver, quarantine) →
 * manifest(s), written last.
 *
 * Memory stays flat whatever the file size: the object is read as a stream, and the reader pauses
 * whenever an upload's buffer is full, so at most a few parts per upload are held; the duplicate
 * check keeps a Bloom filter and spills the rest to disk.
 *
 * Outcomes: a file that is not an orders CSV returns `rejected` (retrying cannot help) — unless it
 * is no text at all (binary, UTF-32): then, its manifest written, PoisonFileError is thrown so
 * that the event ends in the DLQ; a version that no longer exists returns `skipped`; anything else
 * that fails (S3, the deadline) aborts both uploads — nothing becomes visible — and throws, so
 * Lambda retries and the retry starts over.
 */
export async function validateObject(ref: SourceRef, deps: ValidateDeps): Promise<ValidationResult> {
  const now = deps.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const keys = outputKeys(ref, { silver: deps.silverPrefix, quarantine: deps.quarantinePrefix });
  const source: ValidationResult['source'] = { bucket: ref.bucket, key: ref.key };
  if (ref.versionId) source.versionId = ref.versionId;
  if (ref.etag) source.etag = bareEtag(ref.etag) as string;
  if (ref.size !== undefined) source.size = ref.size;

  /**
   * Writes the manifests and returns the result naming them. `ifAbsent`: only where none is yet (a
   * skip must not overwrite what an earlier run of the same version wrote there — an event
   * redelivered after the idempotency record expired, the version deleted since); the result then
   * names only the manifests it wrote.
   */
  const finish = async (
    partial: Omit<ValidationResult, 'source' | 'startedAt' | 'finishedAt' | 'outputs'>,
    outputs: Omit<ValidationResult['outputs'], 'manifests'>,
    manifestKeys: string[],
    options: { ifAbsent?: boolean } = {},
  ) => {
    const result: ValidationResult = { source, ...partial, outputs: { ...outputs, manifests: manifestKeys }, startedAt, finishedAt: now().toISOString() };
    const manifest: Manifest = { manifestVersion: 1, ...result, requestId: deps.requestId };
    const body = `${JSON.stringify(manifest, null, 2)}\n`;
    // Both at once: each is written after every output it describes is complete.
    const written = await Promise.all(
      manifestKeys.map(async (key) => {
        try {
          const put = new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: body, ContentType: 'application/json', ...(options.ifAbsent ? { IfNoneMatch: '*' } : {}) });
          await deps.s3.send(put, { abortSignal: deps.signal });
          return true;
        } catch (error) {
          // 409 ConditionalRequestConflict: another write to the key was under way; it is there now.
          if (options.ifAbsent && (isPreconditionFailed(error) || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 409)) return false;
          throw stopReason(deps.signal) ?? error;
        }
      }),
    );
    if (written.every(Boolean)) return result;
    const kept = manifestKeys.filter((_, i) => !written[i]);
    deps.warn?.('an earlier run of this object version left its manifest: kept, not replaced by this one', { manifests: kept });
    return { ...result, outputs: { ...result.outputs, manifests: manifestKeys.filter((_, i) => written[i]) } };
  };
  const noRows = { rowsRead: 0, valid: 0, rejected: 0, blankLines: 0 };

  let body: Readable;
  try {
    const object = await deps.s3.send(
      new GetObjectCommand({
        Bucket: ref.bucket,
        Key: ref.key,
        VersionId: ref.versionId,
        // The bytes we read are the ones the event announced: a newer upload of the same key fails
        // here (412) instead of being validated under the old version's output keys.
        IfMatch: source.etag ? `"${source.etag}"` : undefined,
      }),
      { abortSignal: deps.signal },
    );
    body = readAhead(object.Body as Readable);
    if (object.ContentLength !== undefined) source.size = object.ContentLength;
    if (!source.versionId && object.VersionId && object.VersionId !== 'null') source.versionId = object.VersionId;
    if (!source.etag && object.ETag) source.etag = bareEtag(object.ETag) as string;
  } catch (error) {
    let skip = skipReason(error);
    if (!skip && (error as { name?: string }).name === 'AccessDenied') {
      // A GET of a version deleted for good (or a key deleted without versioning) is answered 403
      // to this role: a listing of the key tells a deleted object or a replaced version (clean
      // skips) from a real denial.
      const current = await currentVersionOf(deps, ref.bucket, ref.key);
      if (current === null) skip = { reason: 'source-missing', detail: 'the object no longer exists: it was deleted before it could be read (S3 said AccessDenied, a listing found no such key)' };
      else if (current !== undefined && source.etag && current.etag !== source.etag) {
        skip = { reason: 'source-changed', detail: 'the version the event announced is gone and the key now holds other content (S3 said AccessDenied, a listing shows another ETag): that version has an event of its own' };
      } else if (current !== undefined && ref.versionId && (await replacedVersion(deps, ref.bucket, ref.key, ref.versionId))) {
        // The same bytes uploaded again give the same ETag: only the version id tells that the
        // announced version was deleted for good under a newer one.
        skip = { reason: 'source-changed', detail: 'the version the event announced is gone and the key now holds a newer version with the same content (S3 said AccessDenied, the current version has another id): that version has an event of its own' };
      } else {
        const known = current === undefined ? 'the object may be gone (a listing could not tell)' : 'the object exists';
        throw new Error(`AccessDenied reading s3://${ref.bucket}/${ref.key}: ${known}, and the role may not read it`, { cause: error });
      }
    }
    // Stopped mid-request, the SDK throws its own AbortError: the deadline is what happened.
    if (!skip) throw stopReason(deps.signal) ?? error;
    deps.warn?.(skip.detail, { key: ref.key, versionId: ref.versionId, etag: ref.etag });
    const skipped = { status: 'skipped' as const, reason: skip.reason, detail: skip.detail, ...noRows };
    // A run that validated this version left its silver manifest (the event came again after the
    // idempotency record expired, the version gone since): a "skipped" beside it would contradict it.
    if (await manifestExists(deps, keys.silverManifest)) {
      deps.warn?.('an earlier run validated this object version: its manifests are kept, none written for this skip', { manifest: keys.silverManifest });
      return finish(skipped, { silver: null, quarantine: null }, []);
    }
    return finish(skipped, { silver: null, quarantine: null }, [keys.quarantineManifest], { ifAbsent: true });
  }

  const run = new Run(deps, keys, source.size, body);
  try {
    const counts = await run.execute();
    const outputs = { silver: keys.silverPart, quarantine: counts.rejected > 0 ? keys.rejected : null };
    // A clean file writes no quarantine manifest — unless one is there from an earlier run of the
    // same version (a skip of the same bytes uploaded again, unversioned; a run before a validator
    // fix), which this one replaces, with any rows that run quarantined.
    const earlier = counts.rejected === 0 ? await earlierManifest(deps, keys.quarantineManifest) : null;
    // Only this version's own output key: a manifest is data, not a list of keys to overwrite.
    if (earlier?.outputs?.quarantine === keys.rejected) await emptyStale(deps, keys.rejected);
    return await finish(
      { status: 'validated', ...counts, encoding: { ...run.decoder.report }, header: headerReport(run.header as HeaderOutcome) },
      outputs,
      counts.rejected > 0 || earlier !== null ? [keys.silverManifest, keys.quarantineManifest] : [keys.silverManifest],
    );
  } catch (error) {
    await run.abort(error);
    if (!(error instanceof FileRejection)) throw error;
    // A poison file's error is logged where it is caught (handler.ts): once is enough.
    const poison = POISON_REASONS.has(error.reason);
    if (!poison) deps.warn?.(`file rejected: ${error.message}`, { key: ref.key, reason: error.reason });
    const encoding = run.decoder.bytesIn > 0 ? { encoding: { ...run.decoder.report } } : {};
    const header = run.header ? { header: headerReport(run.header) } : {};
    // An earlier run validated this version (before a validator fix, say): its silver manifest
    // would contradict this one, and its rows would still be read by whoever lists silver/.
    const earlier = await earlierManifest(deps, keys.silverManifest);
    // A poison file fails every attempt on purpose. Lambda's retries of an async event keep its
    // request id: a manifest this request already wrote for the same reason means an earlier
    // attempt found it, counted and logged it — once per request, not once per attempt. Another
    // request (a duplicate delivery, the same bytes uploaded again, a redrive from the DLQ) is an
    // arrival of its own and counts. (An attempt that wrote the manifest and then died uncounted
    // leaves the retries silent: the DLQ and its alarm still say it.)
    const before = poison ? await earlierManifest(deps, keys.quarantineManifest) : null;
    const repeated = before?.status === 'rejected' && before.reason === error.reason && before.requestId === deps.requestId;
    const stale = [keys.silverPart, keys.rejected].filter((key) => key === earlier?.outputs?.silver || key === earlier?.outputs?.quarantine);
    await Promise.all(stale.map((key) => emptyStale(deps, key)));
    const result = await finish(
      { status: 'rejected', reason: error.reason, detail: error.message, ...noRows, ...encoding, ...header },
      { silver: null, quarantine: null },
      earlier !== null ? [keys.silverManifest, keys.quarantineManifest] : [keys.quarantineManifest],
    );
    if (poison) throw new PoisonFileError(error.reason, { bucket: ref.bucket, key: ref.key }, keys.quarantineManifest, error.message, { repeated });
    return result;
  } finally {
    run.close();
  }
}

/** Bytes of the object read ahead of the parser. */
const READ_AHEAD_BYTES = 1 << 20;
/**
 * The most bytes handed to the decoder (and so the parser) at once. A batch's rows stay alive
 * until the batch is done, and every scavenge copies the batch in hand: batches of megabytes
 * survive scavenges and fill the old generation. 16 KiB (~170 rows) against 64 KiB, measured at
 * 100 MB: 12 % fewer scavenges taking 20–30 % less time, 1.5 % fewer instructions in all; 8 KiB
 * gained nothing more.
 */
const PIECE_BYTES = 1 << 14;

/**
 * The object's stream with a read-ahead buffer. A response stream reads its socket only while its
 * own small buffer has room, so the sender stalls as soon as the kernel's buffer fills, and the
 * parser then waits whenever the sender was busy elsewhere (S3, or here an emulator that also
 * takes our uploads). Reading ahead between batches keeps the parser fed through those gaps.
 */
function readAhead(source: Readable): Readable {
  const buffered = new PassThrough({ highWaterMark: READ_AHEAD_BYTES });
  // Errors reach the reader through `buffered`; destroying it (close()) stops the source too.
  pipeline(source, buffered, () => undefined);
  return buffered;
}

/**
 * Whether the key's current object is another version than `versionId`, as a HEAD of it says (the
 * GET grant covers it); false when it cannot say (no versioning, or the HEAD failed too).
 */
async function replacedVersion(deps: Pick<ValidateDeps, 's3' | 'signal'>, bucket: string, key: string, versionId: string): Promise<boolean> {
  try {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: deps.signal });
    return head.VersionId !== undefined && head.VersionId !== 'null' && head.VersionId !== versionId;
  } catch {
    const stopped = stopReason(deps.signal);
    if (stopped) throw stopped;
    return false;
  }
}

/**
 * The key's current object as a listing of the key itself shows it (its ETag), null when there is
 * none, undefined when the listing failed. Why a listing: S3 answers a GET for a missing key 403,
 * not 404, to a role whose s3:ListBucket is scoped by prefix (a GET carries no s3:prefix), while a
 * listing with Prefix = key is allowed — and the key, the shortest name with that prefix, comes first.
 */
export async function currentVersionOf(deps: Pick<ValidateDeps, 's3' | 'signal'>, bucket: string, key: string): Promise<{ etag: string | undefined } | null | undefined> {
  try {
    const listed = await deps.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }), { abortSignal: deps.signal });
    const object = (listed.Contents ?? []).find((o) => o.Key === key);
    return object ? { etag: bareEtag(object.ETag) } : null;
  } catch {
    // Stopped by the deadline: that is the news, not the denial.
    const stopped = stopReason(deps.signal);
    if (stopped) throw stopped;
    return undefined;
  }
}

/** Whether a manifest is at `key` (a HEAD: the role may read manifests). */
async function manifestExists(deps: Pick<ValidateDeps, 's3' | 'bucket' | 'signal'>, key: string): Promise<boolean> {
  try {
    await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }), { abortSignal: deps.signal });
    return true;
  } catch (error) {
    if (isAbsentManifest(error)) return false;
    throw stopReason(deps.signal) ?? error;
  }
}

/**
 * Whether reading a manifest failed because there is none. Without s3:ListBucket on that prefix S3
 * answers a missing key 403, not 404: with the read granted, both mean absent.
 */
function isAbsentManifest(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.$metadata?.httpStatusCode === 404 || e.$metadata?.httpStatusCode === 403 || e.name === 'NotFound' || e.name === 'NoSuchKey';
}

/**
 * The manifest an earlier run of this version left at `key`, or null. Read, not just looked for:
 * it names the outputs that run wrote (a skip's names none). One that cannot be parsed counts as
 * there, naming nothing.
 */
async function earlierManifest(deps: Pick<ValidateDeps, 's3' | 'bucket' | 'signal'>, key: string): Promise<Partial<Manifest> | null> {
  let text: string | undefined;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }), { abortSignal: deps.signal });
    text = await object.Body?.transformToString();
  } catch (error) {
    if (isAbsentManifest(error)) return null;
    throw stopReason(deps.signal) ?? error;
  }
  try {
    const parsed = JSON.parse(text ?? '') as Partial<Manifest>;
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Empties an output an earlier run of the same version wrote and this one does not replace. An
 * empty object rather than a deletion: the role writes outputs but deletes nothing, and a reader
 * that lists the prefix instead of following the manifests then reads no stale rows.
 */
async function emptyStale(deps: Pick<ValidateDeps, 's3' | 'bucket' | 'signal'>, key: string): Promise<void> {
  try {
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: new Uint8Array(0), ContentType: JSONL_CONTENT_TYPE }), { abortSignal: deps.signal });
  } catch (error) {
    throw stopReason(deps.signal) ?? error;
  }
}

function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412;
}

/** NoSuchKey/NoSuchVersion: the object (version) is gone; PreconditionFailed: replaced since. */
function skipReason(error: unknown): { reason: SkipReason; detail: string } | undefined {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchKey' || e.name === 'NoSuchVersion' || (status === 404 && e.name !== 'NoSuchBucket')) {
    return { reason: 'source-missing', detail: 'the object (version) no longer exists: it was deleted before it could be read' };
  }
  if (isPreconditionFailed(error)) {
    return { reason: 'source-changed', detail: 'the object was replaced since the event (its ETag no longer matches): the new version has an event of its own' };
  }
  return undefined;
}

interface Counts {
  rowsRead: number;
  valid: number;
  rejected: number;
  blankLines: number;
}

/** A rejected row's reasons, as orderRowSchema.safeParse gives them (src/explain.ts). */
const explainRow = deriveExplainer(orderRowSchema);
/** Silver lines in bytes, byte for byte JSON.stringify's (src/json-line.ts). */
const encodeSilverLine = deriveJsonLineEncoder(ORDER_COLUMNS);
/** A batch's silver lines are flushed to the upload once they reach this size. */
const SILVER_FLUSH_BYTES = 1 << 18;
/**
 * The uploads' part buffers and the duplicate check's filter share one budget: silver's two parts
 * and quarantine's one besides the largest filter (MAX_FILTER_BYTES). A smaller filter leaves room
 * for more, first a third for silver (files below ~750 MB), then a second for quarantine (below
 * ~400 MB):
 * - Silver's third fills while two parts upload. With two, the reader waits whenever an upload
 *   takes longer than the next part takes to fill (~65 ms at 300k rows/s: silver's JSON is about
 *   twice the CSV). Measured at 100 MB against the embedded S3, the reader waited 0.4–0.5 s cold
 *   and 0.2–0.4 s warm with two, ~0.2 s cold and ~0.05 s warm with three.
 * - With one buffer, quarantine stops the reader for the whole upload of each of its parts (5 MiB:
 *   ~18k rejected rows of ~280 bytes, so about one per 100 MB at 3 % rejected, one every few
 *   seconds when a feed goes bad); with two, only when a part fills before the last has gone up.
 */
export function partBuffers(filterBytes: number, partSize: number): { silver: number; quarantine: number } {
  const spare = Math.max(0, Math.floor((MAX_FILTER_BYTES - filterBytes) / partSize));
  return { silver: 2 + Math.min(1, spare), quarantine: 1 + Math.min(1, Math.max(0, spare - 1)) };
}

/** 4 MB semi-spaces (an 8 MB young generation) whatever Lambda's memory setting: young-generation.ts. */
const youngGeneration = new YoungGenerationCap(4);

/**
 * The row parser, one for every file and column layout (fast-validator.ts): a new function starts
 * cold in V8, so a parser per file or per layout would pay the warm-up again.
 */
const parseRow = deriveRowParser(orderRowSchema);

/** The state of one validation: reader, decoder, uploads, counts. */
class Run {
  readonly decoder = new SniffingDecoder();
  header: HeaderOutcome | undefined;
  readonly #deps: ValidateDeps;
  readonly #keys: OutputKeys;
  readonly #size: number | undefined;
  readonly #body: Readable;
  readonly #reader: CsvReader;
  readonly #stop = new AbortController();
  readonly #waiting = new Set<MultipartWriter>();
  #silver: MultipartWriter | undefined;
  #quarantine: MultipartWriter | undefined;
  /** The current batch's silver lines, reused from batch to batch (the upload copies them). */
  readonly #silverBytes = new JsonLineBuffer();
  /** One silver line at a time, for the records held back by the duplicate check. */
  readonly #lineBytes = new JsonLineBuffer(1024);
  #duplicates: DuplicateDetector | undefined;
  #width = 0;
  #orderIdColumn = -1;
  /** Per schema key (ORDER_COLUMNS' order), its column in the file, or -1 when absent. */
  #columnsOfKeys: number[] = [];
  readonly #counts: Counts = { rowsRead: 0, valid: 0, rejected: 0, blankLines: 0 };

  constructor(deps: ValidateDeps, keys: OutputKeys, size: number | undefined, body: Readable) {
    this.#deps = deps;
    this.#keys = keys;
    this.#size = size;
    this.#body = body;
    this.#reader = new CsvReader({ maxRecordChars: deps.maxRecordChars ?? MAX_RECORD_CHARS, onBatch: (batch) => this.#onBatch(batch) });
    if (deps.signal) {
      const onAbort = () => this.#fail(stopReason(deps.signal) ?? new Error('aborted'));
      if (deps.signal.aborted) onAbort();
      else deps.signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  async execute(): Promise<Counts> {
    await this.#reader.run(this.#texts());
    if (!this.header) {
      throw new FileRejection(
        'empty-file',
        this.decoder.bytesIn === 0 ? 'the object is empty (0 bytes)' : 'the file holds no header row, only blank lines or whitespace',
      );
    }
    await this.#resolveDeferred();
    await Promise.all([this.#silver?.end(), this.#quarantine?.end()]);
    return this.#counts;
  }

  /** Cancels the read and both uploads (nothing becomes visible) and waits until they stopped. */
  async abort(error: unknown): Promise<void> {
    const reason = error instanceof Error ? error : new Error(String(error));
    if (!this.#stop.signal.aborted) this.#stop.abort(reason);
    this.#reader.abort(reason);
    await Promise.all([this.#silver?.abort(reason), this.#quarantine?.abort(reason)]);
  }

  close(): void {
    this.#body.destroy();
    this.#duplicates?.close();
  }

  #fail(error: Error): void {
    if (!this.#stop.signal.aborted) this.#stop.abort(error);
    this.#reader.abort(error);
  }

  /** The object's text, a run of pieces per chunk of the stream (CsvTexts). */
  async *#texts(): AsyncGenerator<Iterable<string>> {
    for await (const chunk of this.#body) {
      this.#deps.checkDeadline('reading the object');
      yield this.#pieces(chunk as Buffer);
    }
    const rest = this.decoder.end();
    if (rest) yield [rest];
  }

  /**
   * A stream's read() hands over everything it has buffered at once (up to the read-ahead's 1 MiB):
   * cut into pieces, each decoded as the reader takes it. Decoded all at once, a chunk's text
   * outlived the scavenges while its pieces were parsed: +5 MB of heap at the 1 GB peak.
   */
  *#pieces(chunk: Buffer): Generator<string> {
    for (let offset = 0; offset < chunk.length; offset += PIECE_BYTES) {
      const text = this.decoder.write(chunk.subarray(offset, offset + PIECE_BYTES));
      if (text) yield text;
    }
  }

  /**
   * Quarantine's upload starts with the first rejected record: a clean file leaves no object there.
   * One part uploads at a time (rejected rows are few), from one or two buffers (partBuffers).
   */
  #quarantineWriter(): MultipartWriter {
    this.#quarantine ??= this.#writer(this.#keys.rejected, 1, this.#partBuffers().quarantine);
    return this.#quarantine;
  }

  /** The budget's split for this file, once the duplicate check has sized its filter. */
  #partBuffers(): { silver: number; quarantine: number } {
    return partBuffers(this.#duplicates?.filterMemoryBytes ?? MAX_FILTER_BYTES, this.#deps.partSize ?? MIN_PART_SIZE);
  }

  /** Part buffers are reused: each upload holds `buffers` × partSize (5 MiB) at most. */
  #writer(key: string, partsInFlight: number, buffers: number, expectedBytes?: number): MultipartWriter {
    const deps = this.#deps;
    return new MultipartWriter({
      client: deps.s3,
      bucket: deps.bucket,
      key,
      contentType: JSONL_CONTENT_TYPE,
      partsInFlight,
      buffers,
      ...(expectedBytes !== undefined ? { expectedBytes } : {}),
      ...(deps.partSize ? { partSize: deps.partSize } : {}),
      signal: this.#stop.signal,
      onError: (error) => this.#fail(error instanceof Error ? error : new Error(String(error))),
      onAbortFailure: (error) => deps.warn?.('could not abort a multipart upload; the bucket lifecycle rule will', { key, error: String(error) }),
    });
  }

  /** Writes, and pauses the reader until every upload that is behind has drained. */
  #write(writer: MultipartWriter, data: string | Uint8Array): void {
    if (writer.write(data) || this.#waiting.has(writer)) return;
    this.#waiting.add(writer);
    this.#reader.pause();
    writer.drained().then(
      () => {
        this.#waiting.delete(writer);
        if (this.#waiting.size === 0) this.#reader.resume();
      },
      // The writer failed: onError has stopped the run already.
      () => undefined,
    );
  }

  /** The silver line of one record, as text (for records held back by the duplicate check). */
  #silverLine(record: OrderRow): string {
    const out = this.#lineBytes;
    out.reset();
    encodeSilverLine(record, out);
    return out.toString();
  }

  #acceptHeader(cells: string[]): void {
    const header = checkHeader(cells, EXPECTED_COLUMNS);
    this.header = header;
    if (header.status === 'rejected') throw new FileRejection('header', header.message);
    this.#columnsOfKeys = ORDER_COLUMNS.map((key) => header.columns.indexOf(key));
    this.#width = header.columns.length;
    this.#orderIdColumn = header.columns.indexOf('order_id');
  }

  #onBatch(batch: CsvBatch): void {
    const { rows, lines, problems } = batch;
    youngGeneration.check();
    let i = 0;
    if (!this.header) {
      for (; i < rows.length && isBlank(rows[i] as string[]); i++) this.#counts.blankLines++;
      if (i === rows.length) return;
      this.#acceptHeader(rows[i] as string[]);
      i++;
    }
    const columns = this.#columnsOfKeys;
    const width = this.#width;
    const idColumn = this.#orderIdColumn;
    const utf8Inside = this.decoder.report.utf8Inside === true;
    const checkBytes = this.decoder.report.invalidBytes || this.decoder.sawNul || utf8Inside;
    this.#duplicates ??= new DuplicateDetector({
      expectedRows: expectedRows(this.#size, batch.chars, rows.length),
      ...(this.#deps.tmpRoot ? { tmpRoot: this.#deps.tmpRoot } : {}),
    });
    const duplicates = this.#duplicates;
    // Silver: up to two parts uploading, and a third buffer filling when the filter leaves room
    // (partBuffers). Its JSON Lines run about twice the CSV's bytes: told so, the writer creates the
    // upload at once instead of holding up the first part (~0.1–0.2 s on a cold start).
    this.#silver ??= this.#writer(this.#keys.silverPart, 2, this.#partBuffers().silver, this.#size === undefined ? undefined : 2 * this.#size);
    const counts = this.#counts;
    const silverWriter = this.#silver;
    const silver = this.#silverBytes;
    silver.reset();
    let quarantine = '';

    // The batch's ids go through the duplicate filter first, all together, so that its cache
    // misses overlap instead of stalling one row each (see probeQueued).
    if (idColumn >= 0) {
      for (let r = i; r < rows.length; r++) {
        const row = rows[r] as string[];
        // Blank lines are skipped below before they take an answer: they must not queue one.
        if (isBlank(row)) continue;
        const id = row[idColumn];
        if (id) duplicates.queue(id, lines ? (lines[r] as number) : batch.firstLine + r);
      }
    }
    const seen = duplicates.probeQueued();
    let probed = 0;

    for (; i < rows.length; i++) {
      const fields = rows[i] as string[];
      // Blank as before the header: empty or only whitespace (one field, no row of this schema).
      if (isBlank(fields)) {
        counts.blankLines++;
        continue;
      }
      counts.rowsRead++;
      const line = lines ? (lines[i] as number) : batch.firstLine + i;
      const trouble = problems?.get(i);
      const value = fields.length === width && trouble === undefined && !(checkBytes && hasSuspectChar(fields, utf8Inside)) ? parseRow(fields, columns) : INVALID;
      const id = idColumn >= 0 ? fields[idColumn] : undefined;
      const maybeSeen = id ? seen[probed++] === 1 : false;

      if (value !== INVALID && !maybeSeen) {
        encodeSilverLine(value as OrderRow, silver);
        counts.valid++;
        if (silver.length >= SILVER_FLUSH_BYTES) {
          this.#write(silverWriter, silver.view());
          silver.reset();
        }
        continue;
      }
      // The slow path: zod's reasons, or a record held back for the exact duplicate check.
      const verdict = value === INVALID ? this.#explain(fields, trouble) : { value: value as OrderRow, reasons: [] };
      if (maybeSeen) {
        duplicates.defer({ line, id: id as string, raw: fields, silver: verdict.value ? this.#silverLine(verdict.value) : null, reasons: verdict.reasons });
      } else if (verdict.value) {
        encodeSilverLine(verdict.value, silver);
        counts.valid++;
      } else {
        quarantine += rejectedLine(line, fields, verdict.reasons);
        counts.rejected++;
      }
    }
    if (silver.length > 0) this.#write(silverWriter, silver.view());
    if (quarantine) this.#write(this.#quarantineWriter(), quarantine);
  }

  /** Every reason a record is refused: the parser's, the field count, the encoding, then zod's. */
  #explain(fields: string[], trouble: string[] | undefined): { value?: OrderRow; reasons: string[] } {
    const reasons: string[] = [];
    if (trouble) for (const t of trouble) reasons.push(`csv: ${t}`);
    if (fields.length !== this.#width) reasons.push(`csv: ${fields.length} field(s), the header has ${this.#width}`);
    if (this.decoder.report.invalidBytes && fields.some((f) => f.includes('\uFFFD'))) {
      reasons.push(`encoding: bytes that are not valid ${this.decoder.report.encoding} (shown as U+FFFD)`);
    }
    if (this.decoder.report.utf8Inside) {
      const read = fields.map(utf8Read).find((r) => r !== undefined);
      if (read) reasons.push(`encoding: UTF-8 in a file read as windows-1252 (${JSON.stringify(read.shown)} is ${JSON.stringify(read.meant)} in UTF-8): save the whole file in one encoding`);
    }
    if (this.decoder.sawNul && fields.some((f) => f.includes('\u0000'))) {
      reasons.push('text: a NUL character (U+0000), which databases refuse in text');
    }
    const columns = this.#columnsOfKeys;
    const values: (string | undefined)[] = new Array(columns.length);
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as number;
      values[i] = c < 0 ? undefined : fields[c];
    }
    // What orderRowSchema.safeParse would say, with zod run only on the fields that fail.
    const parsed = explainRow(values);
    if (!parsed.success) {
      for (const issue of parsed.issues) reasons.push(reasonOf(issue));
      return { reasons };
    }
    return reasons.length > 0 ? { reasons } : { value: parsed.data, reasons };
  }

  /** Settles the records held back by the duplicate check and writes them out. */
  async #resolveDeferred(): Promise<void> {
    const duplicates = this.#duplicates;
    if (!duplicates || duplicates.deferredCount === 0) return;
    let silver = '';
    let quarantine = '';
    const FLUSH_CHARS = 1 << 16;
    const flush = async () => {
      if (silver) {
        const writer = this.#silver as MultipartWriter;
        if (!writer.write(silver)) await writer.drained();
        silver = '';
      }
      if (quarantine) {
        const writer = this.#quarantineWriter();
        if (!writer.write(quarantine)) await writer.drained();
        quarantine = '';
      }
    };
    // Long, for files with millions of held-back rows: both halves give the event loop turns, so
    // that the claim's renewals and the deadline's abort still fire (DuplicateDetector.settle).
    await duplicates.settle(() => {
      this.#deps.checkDeadline('settling duplicate order ids');
      // Stopped meanwhile (an upload failed, the claim passed to another invocation).
      this.#stop.signal.throwIfAborted();
    });
    const slices = new TimeSlices();
    for (const { record, duplicateOf } of duplicates.resolve()) {
      this.#deps.checkDeadline('settling duplicate order ids');
      // Asked before awaiting, here and for the flush: an await costs a promise per record (tens
      // of thousands a file) even when there is nothing to wait for.
      if (slices.due) await slices.turn();
      if (duplicateOf !== undefined) record.reasons.push(`order_id: ${shown(record.id)} already appears on line ${duplicateOf}`);
      if (record.reasons.length === 0 && record.silver !== null) {
        silver += record.silver;
        this.#counts.valid++;
      } else {
        quarantine += rejectedLine(record.line, record.raw, record.reasons);
        this.#counts.rejected++;
      }
      if (silver.length > FLUSH_CHARS || quarantine.length > FLUSH_CHARS) await flush();
    }
    await flush();
  }
}

/**
 * Rows a file of `size` bytes probably holds, from the first batch: its records (header included)
 * over the characters they took. Characters, not bytes decoded: the decoder runs ahead of the
 * parser by up to a chunk of the stream (the reader peeks at the first one whole), and bytes
 * decoded over the first batch's rows counted up to 64× too few rows once it did — a filter sized
 * for them flagged most rows of a large file.
 * A character takes at least a byte, so the estimate errs high, as it should (the filter is capped).
 */
export function expectedRows(size: number | undefined, charsOfBatch: number, rowsOfBatch: number): number {
  if (size === undefined || charsOfBatch === 0 || rowsOfBatch === 0) return 1_000_000;
  return Math.ceil((size / charsOfBatch) * rowsOfBatch * 1.2) + 1_000;
}

function isBlank(row: string[]): boolean {
  return row.length === 1 && (row[0] as string).trim() === '';
}

/**
 * A U+FFFD (an invalid byte, when the decoder met any), a NUL, or — in a windows-1252 file that
 * holds UTF-8 — UTF-8 read as windows-1252: #explain says which.
 */
function hasSuspectChar(fields: string[], utf8Inside: boolean): boolean {
  for (const f of fields) if (f.includes('\uFFFD') || f.includes('\u0000') || (utf8Inside && utf8Read(f) !== undefined)) return true;
  return false;
}
