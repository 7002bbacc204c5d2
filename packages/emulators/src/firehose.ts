/**
 * A small Amazon Data Firehose (Kinesis Data Firehose) endpoint for the local runner.
 *
 * It exists because nothing on npm or Debian emulates Firehose (s3rver, dynalite and kinesalite
 * cover the other services). Function code is the same in AWS and locally — only
 * `AWS_ENDPOINT_URL_FIREHOSE` differs — so this speaks the wire protocol the AWS SDK uses (AWS JSON
 * 1.1: `POST /`, `X-Amz-Target: Firehose_20150804.<Operation>`, base64 `Data` fields) and keeps
 * Firehose's delivery semantics for DirectPut streams with an S3 destination: records concatenated
 * byte for byte, buffers delivered by size or interval, Firehose's object-key layout, and a failed S3
 * delivery retried until it succeeds (Firehose keeps trying for 24 h, then discards the data; the
 * error output prefix is only for processing and conversion failures, which this emulator does
 * not have). Signatures are not checked. Operations: PutRecord, PutRecordBatch,
 * DescribeDeliveryStream, ListDeliveryStreams.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FirehoseStreamConfig {
  /** Delivery stream name. */
  name: string;
  /** Destination bucket (real name). */
  bucket: string;
  /** e.g. 'inventory/year=!{timestamp:yyyy}/month=!{timestamp:MM}/'; without any `!{…}` Firehose appends `YYYY/MM/dd/HH/`. */
  prefix: string;
  /** e.g. 'firehose-errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/'. */
  errorOutputPrefix: string;
  /** BufferingHints.SizeInMBs, 1..128. */
  bufferingSizeMb: number;
  /** BufferingHints.IntervalInSeconds, 0..900. */
  bufferingIntervalS: number;
}

export interface FirehoseDelivery {
  stream: string;
  bucket: string;
  key: string;
  records: number;
  bytes: number;
  reason: 'size' | 'interval' | 'flush';
}

export interface FirehoseStreamStats {
  /** PutRecord / PutRecordBatch calls naming this stream (valid ones, those over the 4 MiB limit, and those failed by `injectCallFailure`). */
  calls: number;
  /** Records taken into the buffer. */
  accepted: number;
  /** Records reported failed by `injectFailures`. */
  failed: number;
  /** Records written under `prefix`. */
  delivered: number;
  /** Objects written under `prefix`. */
  objects: number;
  /** Bytes written under `prefix`. */
  bytes: number;
  /** Failed `deliver` attempts (in AWS: DeliveryToS3.Success below 1, an entry in the DestinationDelivery log). */
  s3Failures: number;
  /** Records in buffers whose delivery has failed and is being retried. */
  retrying: number;
  /**
   * Records written under `errorOutputPrefix`. Always 0: Firehose writes there only what data
   * processing, format conversion or dynamic partitioning failed on, and the emulator does none of
   * these; a failed S3 delivery is retried instead. Kept so that readers can treat any as a failure.
   */
  errorOutput: number;
  /** Records still failing to reach S3 when the emulator stopped: lost, as Firehose discards them after 24 h. */
  undelivered: number;
  /** Buffers (objects never written) those records were in. */
  undeliveredBuffers: number;
}

/** A stream's stats before its first call. */
export function emptyFirehoseStats(): FirehoseStreamStats {
  return { calls: 0, accepted: 0, failed: 0, delivered: 0, objects: 0, bytes: 0, s3Failures: 0, retrying: 0, errorOutput: 0, undelivered: 0, undeliveredBuffers: 0 };
}

export interface FirehoseEmulatorOptions {
  streams: FirehoseStreamConfig[];
  /** Writes one delivered object; the runner passes a function using its S3 client. */
  deliver: (bucket: string, key: string, body: Buffer) => Promise<void>;
  /** 0 (default) picks a free port; binds 127.0.0.1. */
  port?: number;
  /**
   * Local buffering interval = configured × this (default 1). The wait between S3 delivery
   * attempts is Firehose's 5 s × this, but never less than 1 s.
   */
  intervalScale?: number;
  /** Clock for arrival times (test seam). */
  now?: () => Date;
  /**
   * Starts the wait before a failed S3 delivery is tried again; returns what cancels it (test seam:
   * a test steps the retries itself instead of sleeping through them). Default: setTimeout.
   */
  retryTimer?: (retry: () => void, ms: number) => () => void;
}

export type FirehoseFailureInjector = (stream: string, record: Buffer, index: number) => { code: string; message: string } | undefined;

/**
 * Per PutRecord / PutRecordBatch call (`records` it carries): an error for the whole call, as
 * Firehose answers a throttled one (ServiceUnavailableException, 503) or its own failure
 * (InternalFailure, 500). The status decides what the SDK retries; without one, Firehose's own
 * for the code (FAILURE_STATUS), else 400.
 */
export type FirehoseCallFailureInjector = (
  stream: string,
  operation: 'PutRecord' | 'PutRecordBatch',
  records: number,
) => { code: string; status?: number; message?: string } | undefined;

export interface FirehoseEmulator {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  region: string;
  /** Test hook: per record, report it failed (PutRecordBatch: per-record ErrorCode; PutRecord: the call fails). */
  injectFailures(fn: FirehoseFailureInjector | undefined): void;
  /** Test hook: per call, fail it as a whole (nothing of it is taken; `stats().calls` counts it). */
  injectCallFailure(fn: FirehoseCallFailureInjector | undefined): void;
  /**
   * Delivers every buffered record now. Resolves when each delivery under way has succeeded or failed
   * one more attempt (a failing one is tried again at once, and then keeps being retried: see
   * `stats().retrying`), so that a summary can count what is in S3 without waiting for S3 to return.
   */
  flush(): Promise<void>;
  stats(): Record<string, FirehoseStreamStats>;
  /**
   * 'delivered' after each object under `prefix`; 'error' when a buffer's delivery first fails (it is
   * retried, `final` false) and, from `stop`, once per stream for records it never delivered (`final` true).
   */
  on(event: 'delivered', listener: (d: FirehoseDelivery) => void): void;
  on(event: 'error', listener: (e: FirehoseDeliveryError) => void): void;
  /** The emitter behind `on` ('delivered', 'error'). */
  events: EventEmitter;
  /**
   * Closes the server, then delivers what is buffered. A delivery that is failing gets one more
   * attempt, then is given up: its records count as `undelivered`, reported by an 'error' event.
   */
  stop(): Promise<void>;
}

/** Raised (as an 'error' event) when `deliver` fails for a buffer, and when `stop` gives records up. */
export class FirehoseDeliveryError extends Error {
  constructor(
    message: string,
    readonly stream: string,
    readonly records: number,
    /** false: the delivery is being retried; true: the emulator stopped and the records are lost. */
    readonly final: boolean,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'FirehoseDeliveryError';
  }
}

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const MAX_RECORD = 1_024_000; // 1,000 KiB, before base64
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Firehose retries a failed S3 delivery every 5 s (for up to 24 h, then discards the data). */
const S3_RETRY_INTERVAL_MS = 5_000;
/**
 * The local retry wait never goes below this, whatever `intervalScale` (1/60 in the runner, 0 in
 * some tests): an S3 that restarts or a bucket being created is away for a second or more, so
 * millisecond retries would only spin, since they go on until the emulator stops.
 */
const MIN_RETRY_DELAY_MS = 1_000;
/** Only checks that `errorOutputPrefix` evaluates: the types Firehose puts there (processing-failed, format-conversion-failed, …) never arise here. */
const ERROR_OUTPUT_TYPE = 'processing-failed';
/**
 * The status Firehose answers a failed call with, for the codes it fails calls with: the SDK
 * retries the 5xx ones. Any other code a test injects is a client error (400).
 */
const FAILURE_STATUS: Record<string, number> = { ServiceUnavailableException: 503, InternalFailure: 500 };
const failureStatus = (code: string) => FAILURE_STATUS[code] ?? 400;

/** An AWS error as the JSON protocol returns it. */
class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const formatDelay = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Formats a Java DateTimeFormatter pattern (the subset Firehose prefixes use) in UTC. */
function formatTimestamp(pattern: string, t: Date): string {
  const fields: Record<string, (len: number) => string> = {
    y: (len) => (len === 2 ? pad(t.getUTCFullYear() % 100) : pad(t.getUTCFullYear(), len)),
    u: (len) => (len === 2 ? pad(t.getUTCFullYear() % 100) : pad(t.getUTCFullYear(), len)),
    M: (len) => pad(t.getUTCMonth() + 1, len),
    d: (len) => pad(t.getUTCDate(), len),
    H: (len) => pad(t.getUTCHours(), len),
    m: (len) => pad(t.getUTCMinutes(), len),
    s: (len) => pad(t.getUTCSeconds(), len),
  };
  // Letter runs are fields, '…' quotes literals ('' is a quote), anything else is literal.
  return pattern.replace(/'([^']*)'|([A-Za-z])\2*/g, (run, quoted: string | undefined, letter: string | undefined) => {
    if (quoted !== undefined) return quoted === '' ? "'" : quoted;
    const field = fields[letter as string];
    // Java prints text (MMM = 'Mar') from three letters on, except for years: not emulated.
    if (!field || (run.length > 2 && letter !== 'y' && letter !== 'u')) throw new Error(`Firehose emulator: unsupported timestamp pattern letter '${letter}' in '${pattern}'`);
    return field(run.length);
  });
}

/** Evaluates a prefix's `!{namespace:value}` expressions; `errorType` is set only for errorOutputPrefix. */
function evaluatePrefix(prefix: string, t: Date, errorType?: string): string {
  const evaluated = prefix.replace(/!\{([^:}]+):([^}]*)\}/g, (_, ns: string, value: string) => {
    if (ns === 'timestamp') return formatTimestamp(value, t);
    if (ns === 'firehose' && value === 'random-string') return randomBytes(8).toString('base64url').slice(0, 11);
    if (ns === 'firehose' && value === 'error-output-type' && errorType) return errorType;
    throw new Error(`Firehose emulator: unsupported expression !{${ns}:${value}} in '${prefix}'`);
  });
  // Firehose's default layout when the prefix has no expression at all.
  return prefix.includes('!{') ? evaluated : evaluated + formatTimestamp("yyyy'/'MM'/'dd'/'HH'/'", t);
}

/** `<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`, Firehose's object name suffix. */
const objectName = (stream: string, t: Date) =>
  `${stream}-1-${formatTimestamp('yyyy-MM-dd-HH-mm-ss', t)}-${randomUUID()}`;

interface Buffered {
  records: Buffer[];
  bytes: number;
  first: Date;
  timer?: NodeJS.Timeout;
}

interface Stream {
  config: FirehoseStreamConfig;
  created: Date;
  buffer?: Buffered;
  stats: FirehoseStreamStats;
  /** Why the last delivery given up at stop failed, for the stream's one report. */
  givenUp?: { cause: unknown };
}

/** A buffer being written to S3, retried until it is or the emulator stops. */
interface Delivery {
  /** Settles when the buffer is in S3 or given up. */
  done: Promise<void>;
  /** Called after each failed attempt (`flush` waits for one). */
  onFailure: Set<() => void>;
  /** Cuts the wait before the next attempt short, while there is one. */
  wake?: () => void;
}

const description = (s: Stream) => {
  const c = s.config;
  const common = {
    RoleARN: `arn:aws:iam::${ACCOUNT}:role/firehose-${c.name}`,
    BucketARN: `arn:aws:s3:::${c.bucket}`,
    Prefix: c.prefix,
    ErrorOutputPrefix: c.errorOutputPrefix,
    BufferingHints: { SizeInMBs: c.bufferingSizeMb, IntervalInSeconds: c.bufferingIntervalS },
    CompressionFormat: 'UNCOMPRESSED',
    EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    CloudWatchLoggingOptions: { Enabled: false },
  };
  return {
    DeliveryStreamName: c.name,
    DeliveryStreamARN: `arn:aws:firehose:${REGION}:${ACCOUNT}:deliverystream/${c.name}`,
    DeliveryStreamStatus: 'ACTIVE',
    DeliveryStreamEncryptionConfiguration: { Status: 'DISABLED' },
    DeliveryStreamType: 'DirectPut',
    VersionId: '1',
    // The JSON protocol carries timestamps as epoch seconds.
    CreateTimestamp: s.created.getTime() / 1000,
    // Real responses carry both descriptions of an extended S3 destination.
    Destinations: [
      {
        DestinationId: 'destinationId-000000000001',
        S3DestinationDescription: common,
        ExtendedS3DestinationDescription: { ...common, S3BackupMode: 'Disabled', DataFormatConversionConfiguration: { Enabled: false } },
      },
    ],
    HasMoreDestinations: false,
  };
};

/** Java's rendering of a ByteBuffer, as it appears in Firehose's validation messages. */
const javaBuffer = (b: Buffer) => `java.nio.HeapByteBuffer[pos=0 lim=${b.length} cap=${b.length}]`;

/** Decodes a `Data` field; problems go to `problems` in Firehose's (Coral's) validation wording. */
function decodeData(data: unknown, at: string, problems: string[]): Buffer {
  if (data === undefined || data === null) {
    problems.push(`Value null at '${at}' failed to satisfy constraint: Member must not be null`);
    return Buffer.alloc(0);
  }
  if (typeof data !== 'string' || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data))
    throw new AwsError('SerializationException', `Invalid base64 in '${at}'`);
  const buf = Buffer.from(data, 'base64');
  if (buf.length > MAX_RECORD)
    problems.push(
      `Value '${javaBuffer(buf)}' at '${at}' failed to satisfy constraint: Member must have length less than or equal to ${MAX_RECORD}`,
    );
  return buf;
}

function throwProblems(problems: string[]): void {
  if (problems.length === 0) return;
  const n = problems.length;
  throw new AwsError('ValidationException', `${n} validation error${n > 1 ? 's' : ''} detected: ${problems.join('; ')}`);
}

export async function startFirehose(options: FirehoseEmulatorOptions): Promise<FirehoseEmulator> {
  const scale = options.intervalScale ?? 1;
  const now = options.now ?? (() => new Date());
  const events = new EventEmitter();
  const streams = new Map<string, Stream>();
  let inject: FirehoseFailureInjector | undefined;
  let injectCall: FirehoseCallFailureInjector | undefined;
  const retryTimer =
    options.retryTimer ??
    ((retry: () => void, ms: number) => {
      const timer = setTimeout(retry, ms);
      return () => clearTimeout(timer);
    });

  for (const config of options.streams) {
    // Catch configurations AWS would refuse at deploy time here rather than at the first delivery.
    if (streams.has(config.name)) throw new Error(`Firehose emulator: duplicate stream ${config.name}`);
    if (!(config.bufferingSizeMb >= 1 && config.bufferingSizeMb <= 128)) throw new Error(`${config.name}: bufferingSizeMb must be 1..128`);
    if (!(config.bufferingIntervalS >= 0 && config.bufferingIntervalS <= 900))
      throw new Error(`${config.name}: bufferingIntervalS must be 0..900`);
    evaluatePrefix(config.prefix, new Date());
    evaluatePrefix(config.errorOutputPrefix, new Date(), ERROR_OUTPUT_TYPE);
    streams.set(config.name, { config, created: new Date(), stats: emptyFirehoseStats() });
  }

  const retryDelay = Math.max(MIN_RETRY_DELAY_MS, S3_RETRY_INTERVAL_MS * scale);
  /** Set once the server is closed: a failed attempt is then the last one. */
  let stopping = false;

  const report = (error: FirehoseDeliveryError) => {
    // An 'error' event without a listener would throw: log instead. A listener that throws must not
    // end the delivery that reported, or its records would go uncounted.
    try {
      if (events.listenerCount('error') > 0) events.emit('error', error);
      else console.error(error.message);
    } catch (err) {
      console.error(`Firehose ${error.stream}: 'error' listener failed:`, err);
    }
  };

  /** Writes one buffer, retrying as Firehose does; gives it up, counted, only once the emulator stops. */
  async function deliverBuffer(s: Stream, b: Buffered, reason: FirehoseDelivery['reason'], d: Delivery): Promise<void> {
    const { name, bucket, prefix } = s.config;
    // One key for every attempt, as the object's name comes from the first record's arrival.
    const key = evaluatePrefix(prefix, b.first) + objectName(name, b.first);
    const body = Buffer.concat(b.records); // no delimiter: producers add their own newlines
    const records = b.records.length;
    for (let attempt = 1; ; attempt++) {
      try {
        await options.deliver(bucket, key, body);
        if (attempt > 1) s.stats.retrying -= records;
        break;
      } catch (cause) {
        s.stats.s3Failures += 1;
        if (attempt === 1) s.stats.retrying += records;
        const message = cause instanceof Error ? cause.message : String(cause);
        if (stopping) {
          s.stats.retrying -= records;
          s.stats.undelivered += records;
          s.stats.undeliveredBuffers += 1;
          s.givenUp = { cause };
          for (const f of d.onFailure) f();
          return;
        }
        // One line when a buffer starts failing; the summary and stop() say how it ended.
        if (attempt === 1)
          report(
            new FirehoseDeliveryError(
              `Firehose ${name}: could not write ${plural(records, 'record')} to s3://${bucket}/${key}: ${message}; retrying every ${formatDelay(retryDelay)} until it succeeds or the emulator stops`,
              name,
              records,
              false,
              cause,
            ),
          );
        for (const f of d.onFailure) f();
        await new Promise<void>((resolve) => {
          const cancel = retryTimer(resolve, retryDelay);
          d.wake = () => {
            cancel();
            resolve();
          };
        });
        d.wake = undefined;
      }
    }
    s.stats.delivered += records;
    s.stats.objects += 1;
    s.stats.bytes += body.length;
    events.emit('delivered', { stream: name, bucket, key, records, bytes: body.length, reason } satisfies FirehoseDelivery);
  }

  const deliveries = new Set<Delivery>();

  /** Takes the stream's buffer (if any) and starts delivering it. */
  function cut(s: Stream, reason: FirehoseDelivery['reason']): void {
    const b = s.buffer;
    if (!b) return;
    s.buffer = undefined;
    clearTimeout(b.timer);
    const d: Delivery = { done: Promise.resolve(), onFailure: new Set() };
    d.done = deliverBuffer(s, b, reason, d)
      .catch((err: unknown) => console.error(`Firehose ${s.config.name}: delivery listener failed:`, err))
      .finally(() => deliveries.delete(d));
    deliveries.add(d);
  }

  function accept(s: Stream, record: Buffer): void {
    if (!s.buffer) {
      // The interval runs from the buffer's first record, whose arrival time also names the object.
      const b: Buffered = { records: [], bytes: 0, first: now() };
      b.timer = setTimeout(() => s.buffer === b && cut(s, 'interval'), s.config.bufferingIntervalS * 1000 * scale);
      b.timer.unref();
      s.buffer = b;
    }
    s.buffer.records.push(record);
    s.buffer.bytes += record.length;
    s.stats.accepted += 1;
    if (s.buffer.bytes >= s.config.bufferingSizeMb * 1024 * 1024) cut(s, 'size');
  }

  function stream(input: Record<string, unknown>, problems: string[]): Stream {
    const name = input.DeliveryStreamName;
    if (typeof name !== 'string') problems.push(`Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null`);
    throwProblems(problems);
    const s = streams.get(name as string);
    if (!s) throw new AwsError('ResourceNotFoundException', `Firehose ${name} under account ${ACCOUNT} not found.`);
    return s;
  }

  const recordId = () => randomBytes(150).toString('base64');

  function failCall(s: Stream, operation: 'PutRecord' | 'PutRecordBatch', records: number): void {
    const failure = injectCall?.(s.config.name, operation, records);
    if (failure) throw new AwsError(failure.code, failure.message ?? `${failure.code} (injected by the test)`, failure.status ?? failureStatus(failure.code));
  }

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    PutRecord(input) {
      const problems: string[] = [];
      const data = decodeData((input.Record as { Data?: unknown } | undefined)?.Data, 'record.data', problems);
      const s = stream(input, problems);
      s.stats.calls += 1;
      failCall(s, 'PutRecord', 1);
      const failure = inject?.(s.config.name, data, 0);
      if (failure) {
        s.stats.failed += 1;
        throw new AwsError(failure.code, failure.message, failureStatus(failure.code));
      }
      accept(s, data);
      return { RecordId: recordId(), Encrypted: false };
    },
    PutRecordBatch(input) {
      const problems: string[] = [];
      const list = Array.isArray(input.Records) ? (input.Records as { Data?: unknown }[]) : undefined;
      if (!list) problems.push(`Value null at 'records' failed to satisfy constraint: Member must not be null`);
      else if (list.length < 1 || list.length > MAX_BATCH_RECORDS) {
        const bound = list.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_BATCH_RECORDS}`;
        problems.push(`Value '[${list.length} records]' at 'records' failed to satisfy constraint: Member must have length ${bound}`);
      }
      // Coral numbers list members from 1.
      const records = (list ?? []).map((r, i) => decodeData(r?.Data, `records.${i + 1}.member.data`, problems));
      const s = stream(input, problems);
      s.stats.calls += 1;
      failCall(s, 'PutRecordBatch', records.length);
      if (records.reduce((n, r) => n + r.length, 0) > MAX_BATCH_BYTES)
        throw new AwsError('InvalidArgumentException', 'Records size exceeds 4 MB limit');
      let failed = 0;
      const responses = records.map((r, i) => {
        const failure = inject?.(s.config.name, r, i);
        if (failure) {
          failed += 1;
          return { ErrorCode: failure.code, ErrorMessage: failure.message };
        }
        accept(s, r);
        return { RecordId: recordId() };
      });
      s.stats.failed += failed;
      return { FailedPutCount: failed, Encrypted: false, RequestResponses: responses };
    },
    DescribeDeliveryStream(input) {
      return { DeliveryStreamDescription: description(stream(input, [])) };
    },
    ListDeliveryStreams(input) {
      const limit = typeof input.Limit === 'number' ? input.Limit : 10;
      const after = typeof input.ExclusiveStartDeliveryStreamName === 'string' ? input.ExclusiveStartDeliveryStreamName : '';
      const type = input.DeliveryStreamType;
      const names = [...streams.keys()].sort().filter((n) => n > after && (type === undefined || type === 'DirectPut'));
      return { DeliveryStreamNames: names.slice(0, limit), HasMoreDeliveryStreams: names.length > limit };
    },
  };

  function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
    const text = Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': String(text.length),
      'x-amzn-requestid': randomUUID(),
      'x-amz-id-2': randomBytes(48).toString('base64'),
    };
    // The SDK's JSON 1.1 reader takes `__type` first, then `code`, then this header; send both.
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers).end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('Firehose_20150804.') ? operations[target.slice('Firehose_20150804.'.length)] : undefined;
      if (req.method !== 'POST' || !operation) throw new AwsError('UnknownOperationException', `Unknown operation ${target}`);
      let input: unknown;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        throw new AwsError('SerializationException', 'Request body is not valid JSON');
      }
      if (typeof input !== 'object' || input === null) throw new AwsError('SerializationException', 'Request body is not a JSON object');
      send(res, 200, operation(input as Record<string, unknown>));
    } catch (err) {
      if (err instanceof AwsError) send(res, err.status, { __type: err.type, message: err.message }, err.type);
      else send(res, 500, { __type: 'InternalFailure', message: String(err) }, 'InternalFailure');
    }
  }

  // A request aborted mid-body has no one left to answer.
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  async function flush(): Promise<void> {
    for (const s of streams.values()) cut(s, 'flush');
    // Waiting for success instead would hang the caller for as long as S3 stays away.
    await Promise.all(
      [...deliveries].map(
        (d) =>
          new Promise<void>((resolve) => {
            const failed = () => {
              d.onFailure.delete(failed);
              resolve();
            };
            d.onFailure.add(failed);
            void d.done.then(failed);
            d.wake?.();
          }),
      ),
    );
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    injectFailures(fn) {
      inject = fn;
    },
    injectCallFailure(fn) {
      injectCall = fn;
    },
    flush,
    stats: () => Object.fromEntries([...streams].map(([name, s]) => [name, { ...s.stats }])),
    on: ((event: string, listener: Parameters<EventEmitter['on']>[1]) => {
      events.on(event, listener);
    }) as FirehoseEmulator['on'],
    events,
    stop() {
      // Stop taking records first (requests under way finish), so the final flush leaves nothing behind.
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }).then(async () => {
        stopping = true;
        for (const s of streams.values()) cut(s, 'flush');
        for (const d of deliveries) d.wake?.();
        while (deliveries.size > 0) await Promise.all([...deliveries].map((d) => d.done));
        for (const s of streams.values()) {
          if (!s.givenUp) continue;
          const { cause } = s.givenUp;
          const { undelivered: n, undeliveredBuffers: buffers, s3Failures } = s.stats;
          const message = cause instanceof Error ? cause.message : String(cause);
          report(
            new FirehoseDeliveryError(
              `Firehose ${s.config.name}: stopped with ${plural(n, 'record')} in ${plural(buffers, 'buffer')} not delivered to s3://${s.config.bucket}/${s.config.prefix} (S3 writes failed ${s3Failures} times in this run, the last with: ${message}); they are lost, as Firehose discards what it cannot deliver within 24 h`,
              s.config.name,
              n,
              true,
              cause,
            ),
          );
        }
      });
      return stopped;
    },
  };
}
