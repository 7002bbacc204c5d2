import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  FirehoseServiceException,
  InvalidArgumentException,
  ListDeliveryStreamsCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type FirehoseDelivery,
  type FirehoseDeliveryError,
  type FirehoseEmulator,
  type FirehoseEmulatorOptions,
  type FirehoseStreamConfig,
  startFirehose,
  startS3,
} from '../../src/index.ts';

/** Large buffers compare by digest: element-wise deep equality of a MiB-sized Buffer takes seconds. */
const digest = (b: Uint8Array | undefined) => b && { bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function stream(overrides: Partial<FirehoseStreamConfig> = {}): FirehoseStreamConfig {
  return {
    name: 'events',
    bucket: 'lake',
    prefix: 'raw/',
    errorOutputPrefix: 'firehose-errors/!{firehose:error-output-type}/',
    bufferingSizeMb: 64,
    bufferingIntervalS: 900,
    ...overrides,
  };
}

/** An emulator delivering into a Map, and a real SDK client pointed at it. */
async function start(options: Partial<FirehoseEmulatorOptions> = {}) {
  const objects = new Map<string, Buffer>();
  const fh = await startFirehose({
    streams: [stream()],
    deliver: async (bucket, key, body) => {
      objects.set(`${bucket}/${key}`, body);
    },
    ...options,
  });
  const client = new FirehoseClient({
    endpoint: fh.endpoint,
    region: fh.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  cleanups.push(() => fh.stop(), () => client.destroy());
  return { fh, client, objects };
}

const deliveries = (fh: FirehoseEmulator) => {
  const seen: FirehoseDelivery[] = [];
  fh.on('delivered', (d) => seen.push(d));
  return seen;
};

describe('Firehose emulator: API over the real SDK', () => {
  it('PutRecord and PutRecordBatch buffer records, delivered byte for byte with no delimiter added', async () => {
    const { fh, client, objects } = await start({ now: () => new Date('2024-03-05T07:08:09.500Z') });
    const seen = deliveries(fh);
    const binary = Buffer.from([0, 255, 10, 13, 128, 0xc3]); // not UTF-8: must survive base64 both ways
    const single = await client.send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('{"a":1}\n') } }));
    expect(single.RecordId).toEqual(expect.any(String));
    expect(single.Encrypted).toBe(false);
    const batch = await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'events',
        Records: [{ Data: Buffer.from('{"b":2}') }, { Data: binary }, { Data: new Uint8Array(0) }],
      }),
    );
    expect(batch.FailedPutCount).toBe(0);
    expect(batch.Encrypted).toBe(false);
    expect(batch.RequestResponses).toHaveLength(3);
    expect(new Set(batch.RequestResponses?.map((r) => r.RecordId)).size).toBe(3);
    expect(objects.size).toBe(0); // buffered until flushed (64 MB / 900 s)

    await fh.flush();
    expect([...objects.values()]).toEqual([Buffer.concat([Buffer.from('{"a":1}\n{"b":2}'), binary])]);
    // No expression in the prefix: Firehose appends YYYY/MM/dd/HH/ and names the object from the arrival time.
    const [key] = [...objects.keys()];
    expect(key).toMatch(new RegExp(`^lake/raw/2024/03/05/07/events-1-2024-03-05-07-08-09-${UUID}$`));
    expect(seen).toEqual([{ stream: 'events', bucket: 'lake', key: key?.slice('lake/'.length), records: 4, bytes: 21, reason: 'flush' }]);
    expect(fh.stats().events).toEqual({
      calls: 2,
      accepted: 4,
      failed: 0,
      delivered: 4,
      objects: 1,
      bytes: 21,
      s3Failures: 0,
      retrying: 0,
      errorOutput: 0,
      undelivered: 0,
      undeliveredBuffers: 0,
    });
  });

  it('evaluates timestamp expressions (Java DateTimeFormatter, UTC) at the first record’s arrival time', async () => {
    const times = ['2024-12-31T23:59:58Z', '2025-01-01T00:00:03Z'];
    let i = 0;
    const { fh, client, objects } = await start({
      streams: [
        stream({ prefix: "inventory/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/" }),
        stream({ name: 'dated', prefix: "dt=!{timestamp:yyyy'-'MM'-'dd}/" }),
        stream({ name: 'bare', prefix: '' }),
      ],
      now: () => new Date(times[Math.min(i++, times.length - 1)] as string),
    });
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: [{ Data: Buffer.from('x') }] }));
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: [{ Data: Buffer.from('y') }] }));
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'dated', Record: { Data: Buffer.from('z') } }));
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'bare', Record: { Data: Buffer.from('w') } }));
    await fh.flush();
    const keys = [...objects.keys()].sort();
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(new RegExp(`^lake/2025/01/01/00/bare-1-2025-01-01-00-00-03-${UUID}$`));
    expect(keys[1]).toMatch(new RegExp(`^lake/dt=2025-01-01/dated-1-2025-01-01-00-00-03-${UUID}$`));
    expect(keys[2]).toMatch(
      new RegExp(`^lake/inventory/year=2024/month=12/day=31/hour=23/events-1-2024-12-31-23-59-58-${UUID}$`),
    );
    expect(objects.get(keys[2] as string)?.toString()).toBe('xy');
  });

  it('reports injected per-record failures in request order and delivers only the accepted records', async () => {
    const { fh, client, objects } = await start();
    const seenIndexes: number[] = [];
    // Recorded and checked after the call: an expect thrown in here would reach the emulator's
    // request handler, not the test.
    const seenStreams: string[] = [];
    fh.injectFailures((name, record, index) => {
      seenIndexes.push(index);
      seenStreams.push(name);
      return record.toString().startsWith('bad')
        ? { code: 'ServiceUnavailableException', message: 'Slow down.' }
        : undefined;
    });
    const out = await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: 'events',
        Records: ['ok0\n', 'bad1\n', 'ok2\n', 'bad3\n'].map((s) => ({ Data: Buffer.from(s) })),
      }),
    );
    expect(out.FailedPutCount).toBe(2);
    expect(seenIndexes).toEqual([0, 1, 2, 3]);
    expect(seenStreams).toEqual(['events', 'events', 'events', 'events']);
    const responses = out.RequestResponses ?? [];
    expect(responses.map((r) => r.ErrorCode)).toEqual([undefined, 'ServiceUnavailableException', undefined, 'ServiceUnavailableException']);
    expect(responses[1]).toEqual({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' });
    expect(responses[0]?.RecordId).toEqual(expect.any(String));
    expect(responses[2]?.RecordId).toEqual(expect.any(String));
    fh.injectFailures(undefined);
    await fh.flush();
    expect([...objects.values()].map(String)).toEqual(['ok0\nok2\n']);
    expect(fh.stats().events).toMatchObject({ calls: 1, accepted: 2, failed: 2, delivered: 2 });
  });

  it('a failure injected into PutRecord is the error the SDK throws (503s it retries first)', async () => {
    const { fh, client } = await start();
    fh.injectFailures(() => ({ code: 'ServiceUnavailableException', message: 'Slow down.' }));
    const error = await client
      .send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('x') } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect((error as ServiceUnavailableException).$metadata.attempts).toBe(3); // the SDK's standard retry
    expect(fh.stats().events).toMatchObject({ calls: 3, accepted: 0, failed: 3 });
  });

  it('a PutRecord failure Firehose answers with a 500 (InternalFailure) is a 500, which the SDK retries', async () => {
    const { fh, client } = await start();
    fh.injectFailures(() => ({ code: 'InternalFailure', message: 'broken' }));
    const error = await client
      .send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('x') } }))
      .catch((e: unknown) => e as FirehoseServiceException);
    expect((error as FirehoseServiceException).name).toBe('InternalFailure');
    expect((error as FirehoseServiceException).$metadata).toMatchObject({ httpStatusCode: 500, attempts: 3 });
    expect(fh.stats().events).toMatchObject({ calls: 3, accepted: 0, failed: 3 });
    // Any other code is the client's error: not retried.
    fh.injectFailures(() => ({ code: 'InvalidArgumentException', message: 'no' }));
    const refused = await client
      .send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('x') } }))
      .catch((e: unknown) => e as FirehoseServiceException);
    expect((refused as FirehoseServiceException).$metadata).toMatchObject({ httpStatusCode: 400, attempts: 1 });
  });

  it('injectCallFailure fails whole calls, throttled or 5xx, with the status the SDK retries on; nothing of them is taken', async () => {
    const { fh, client, objects } = await start();
    const seen: string[] = [];
    let calls = 0;
    fh.injectCallFailure((name, operation, records) => {
      seen.push(`${name} ${operation} ${records}`);
      calls++;
      if (calls === 1) return { code: 'ServiceUnavailableException', status: 503, message: 'Slow down.' };
      if (calls === 2) return { code: 'InternalFailure', status: 500 };
      return undefined;
    });
    // Consulted for a failed call's records it must not be: the call fails before any record.
    const perRecord: number[] = [];
    fh.injectFailures((_name, _record, index) => void perRecord.push(index));
    const out = await client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: [{ Data: Buffer.from('a\n') }, { Data: Buffer.from('b\n') }] }),
    );
    // The SDK's standard retry outlasted two failed calls: the third was taken.
    expect(out.$metadata.attempts).toBe(3);
    expect(out.FailedPutCount).toBe(0);
    expect(seen).toEqual(['events PutRecordBatch 2', 'events PutRecordBatch 2', 'events PutRecordBatch 2']);
    expect(perRecord).toEqual([0, 1]);
    expect(fh.stats().events).toMatchObject({ calls: 3, accepted: 2, failed: 0 });

    // Past the SDK's attempts, the caller sees the last failure, as from Firehose (with no status
    // given, the one Firehose answers that code with).
    fh.injectCallFailure((_name, operation) => (operation === 'PutRecord' ? { code: 'ServiceUnavailableException' } : undefined));
    const error = await client
      .send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('c\n') } }))
      .catch((e: unknown) => e as FirehoseServiceException);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    expect((error as ServiceUnavailableException).$metadata).toMatchObject({ httpStatusCode: 503, attempts: 3 });
    expect(fh.stats().events).toMatchObject({ calls: 6, accepted: 2 });
    fh.injectCallFailure(undefined);
    await fh.flush();
    expect([...objects.values()].map(String)).toEqual(['a\nb\n']);
  });

  it('describes and lists delivery streams', async () => {
    const { client } = await start({
      streams: [stream(), stream({ name: 'audit', bucket: 'audit-bucket', prefix: 'a/!{timestamp:yyyy}/', bufferingSizeMb: 5, bufferingIntervalS: 60 })],
    });
    const { DeliveryStreamDescription: d } = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'audit' }));
    expect(d).toMatchObject({
      DeliveryStreamName: 'audit',
      DeliveryStreamARN: 'arn:aws:firehose:us-east-1:000000000000:deliverystream/audit',
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamType: 'DirectPut',
      VersionId: '1',
      HasMoreDestinations: false,
    });
    expect(d?.CreateTimestamp).toBeInstanceOf(Date);
    expect(d?.Destinations?.[0]?.ExtendedS3DestinationDescription).toMatchObject({
      BucketARN: 'arn:aws:s3:::audit-bucket',
      Prefix: 'a/!{timestamp:yyyy}/',
      ErrorOutputPrefix: 'firehose-errors/!{firehose:error-output-type}/',
      BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 },
      CompressionFormat: 'UNCOMPRESSED',
      EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
    });
    const list = await client.send(new ListDeliveryStreamsCommand({}));
    expect(list).toMatchObject({ DeliveryStreamNames: ['audit', 'events'], HasMoreDeliveryStreams: false });
    const page = await client.send(new ListDeliveryStreamsCommand({ Limit: 1 }));
    expect(page).toMatchObject({ DeliveryStreamNames: ['audit'], HasMoreDeliveryStreams: true });
  });

  it('an unknown stream is the SDK’s ResourceNotFoundException', async () => {
    const { client } = await start();
    for (const call of [
      () => client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: 'nope' })),
      () => client.send(new PutRecordCommand({ DeliveryStreamName: 'nope', Record: { Data: Buffer.from('x') } })),
      () => client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'nope', Records: [{ Data: Buffer.from('x') }] })),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect((error as Error).message).toBe('Firehose nope under account 000000000000 not found.');
      expect((error as ResourceNotFoundException).$metadata.httpStatusCode).toBe(400);
    }
  });

  it('enforces Firehose’s limits with the errors Firehose returns', async () => {
    const { fh, client } = await start();
    const put = (records: Buffer[]) =>
      client
        .send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: records.map((Data) => ({ Data })) }))
        .catch((e: unknown) => e as FirehoseServiceException);

    // Model constraints fail Coral's validation: a ValidationException the SDK does not model.
    const tooMany = await put(Array.from({ length: 501 }, () => Buffer.from('x')));
    expect(tooMany).toBeInstanceOf(FirehoseServiceException);
    expect((tooMany as FirehoseServiceException).name).toBe('ValidationException');
    expect((tooMany as Error).message).toMatch(/at 'records' failed to satisfy constraint: Member must have length less than or equal to 500/);

    const empty = await put([]);
    expect((empty as FirehoseServiceException).name).toBe('ValidationException');
    expect((empty as Error).message).toMatch(/greater than or equal to 1/);

    const oversized = await put([Buffer.from('ok'), Buffer.alloc(1_024_001, 'a')]);
    expect((oversized as FirehoseServiceException).name).toBe('ValidationException');
    expect((oversized as Error).message).toMatch(/at 'records\.2\.member\.data' .* less than or equal to 1024000/);
    const single = await client
      .send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.alloc(1_024_001, 'a') } }))
      .catch((e: unknown) => e as FirehoseServiceException);
    expect((single as FirehoseServiceException).name).toBe('ValidationException');
    expect((single as Error).message).toMatch(/at 'record\.data'/);

    // Within each limit but over 4 MiB in total: the modeled InvalidArgumentException.
    const tooBig = await put(Array.from({ length: 5 }, () => Buffer.alloc(1_000_000, 'b')));
    expect(tooBig).toBeInstanceOf(InvalidArgumentException);
    expect((tooBig as Error).message).toBe('Records size exceeds 4 MB limit');

    expect(fh.stats().events?.accepted).toBe(0); // a rejected call takes nothing
    const atLimits = await put([Buffer.alloc(1_024_000, 'c'), ...Array.from({ length: 499 }, () => Buffer.from('d'))]);
    expect(atLimits).toMatchObject({ FailedPutCount: 0 });
    expect(fh.stats().events?.accepted).toBe(500);
  });

  it('answers an unknown operation with UnknownOperationException', async () => {
    const { fh } = await start();
    const res = await fetch(fh.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Firehose_20150804.CreateDeliveryStream' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });

  it('reaches the emulator through AWS_ENDPOINT_URL_FIREHOSE, as function code does', async () => {
    const { fh, objects } = await start();
    const saved = process.env.AWS_ENDPOINT_URL_FIREHOSE;
    process.env.AWS_ENDPOINT_URL_FIREHOSE = fh.endpoint;
    try {
      const client = new FirehoseClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      await client.send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('env\n') } }));
      client.destroy();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_FIREHOSE;
      else process.env.AWS_ENDPOINT_URL_FIREHOSE = saved;
    }
    await fh.flush();
    expect([...objects.values()].map(String)).toEqual(['env\n']);
  });
});

describe('Firehose emulator: buffering', () => {
  it('delivers when the buffer reaches bufferingSizeMb, without a flush', async () => {
    const { fh, client, objects } = await start({ streams: [stream({ bufferingSizeMb: 1 })] });
    const delivered = once(fh.events, 'delivered');
    const chunk = (c: string) => Buffer.alloc(400_000, c);
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: ['a', 'b', 'c', 'd'].map((c) => ({ Data: chunk(c) })) }));
    const [d] = (await delivered) as [FirehoseDelivery];
    // The third record takes the buffer past 1 MiB; the fourth starts the next buffer.
    expect(d).toMatchObject({ reason: 'size', records: 3, bytes: 1_200_000 });
    expect(digest(objects.get(`lake/${d.key}`))).toEqual(digest(Buffer.concat([chunk('a'), chunk('b'), chunk('c')])));
    expect(fh.stats().events).toMatchObject({ accepted: 4, delivered: 3, objects: 1 });
  });

  it('delivers when bufferingIntervalS (× intervalScale) has passed since the first record', async () => {
    const { fh, client, objects } = await start({ streams: [stream({ bufferingIntervalS: 60 })], intervalScale: 0.001 });
    const delivered = once(fh.events, 'delivered');
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('tick\n') } }));
    const [d] = (await delivered) as [FirehoseDelivery];
    expect(d).toMatchObject({ reason: 'interval', records: 1, bytes: 5 });
    expect(objects.get(`lake/${d.key}`)?.toString()).toBe('tick\n');
  });

  it('stop() delivers what is still buffered', async () => {
    const objects = new Map<string, Buffer>();
    const fh = await startFirehose({ streams: [stream()], deliver: async (b, k, body) => void objects.set(`${b}/${k}`, body) });
    const client = new FirehoseClient({ endpoint: fh.endpoint, region: fh.region, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('last\n') } }));
    client.destroy();
    await fh.stop();
    expect([...objects.values()].map(String)).toEqual(['last\n']);
  });
});

describe('Firehose emulator: delivery failures', () => {
  it('keeps retrying a failed S3 delivery, each after the retry wait (never under a second), until S3 takes it; nothing goes to the error prefix', async () => {
    let down = true;
    const attempts: string[] = [];
    // The retry waits, stepped by hand: which ones were asked for, and for how long.
    const waits: { ms: number; fire: () => void }[] = [];
    const { fh, client, objects } = await start({
      // Scaled, the retry wait would be 0.5 s: it must not follow the scale below its floor. (The
      // buffer's 90 s interval does not cut it meanwhile: only flush() starts the delivery.)
      intervalScale: 0.1,
      retryTimer: (fire, ms) => {
        waits.push({ ms, fire });
        return () => {};
      },
      deliver: async (bucket, key, body) => {
        attempts.push(key);
        if (down) throw new Error('S3 is down');
        objects.set(`${bucket}/${key}`, body);
      },
    });
    const errors: FirehoseDeliveryError[] = [];
    fh.on('error', (e) => errors.push(e));
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: [{ Data: Buffer.from('r1\n') }, { Data: Buffer.from('r2\n') }] }));
    // flush() tries at once and returns when that attempt fails, rather than waiting for S3.
    await fh.flush();
    expect(attempts).toHaveLength(1);
    expect(objects.size).toBe(0);
    expect(fh.stats().events).toMatchObject({ accepted: 2, delivered: 0, retrying: 2, errorOutput: 0, undelivered: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ stream: 'events', records: 2, final: false });
    expect(errors[0]?.message).toMatch(/S3 is down.*retrying every 1 s/);

    // Each failed attempt waits before the next; none comes until its wait is over.
    for (let n = 1; n <= 3; n++) {
      await expect.poll(() => waits.length).toBe(n);
      expect(attempts).toHaveLength(n);
      waits[n - 1]?.fire();
      await expect.poll(() => attempts.length).toBe(n + 1);
    }
    await expect.poll(() => waits.length).toBe(4);
    expect(waits.map((w) => w.ms)).toEqual([1_000, 1_000, 1_000, 1_000]);
    down = false;
    const delivered = once(fh.events, 'delivered');
    waits[3]?.fire();
    const [d] = (await delivered) as [FirehoseDelivery];
    expect(d).toMatchObject({ stream: 'events', records: 2 });
    expect(d.key).toMatch(/^raw\//);
    expect([...objects.keys()]).toEqual([`lake/${d.key}`]);
    expect(objects.get(`lake/${d.key}`)?.toString()).toBe('r1\nr2\n');
    // Every attempt wrote the same object.
    expect(attempts).toHaveLength(5);
    expect(new Set(attempts)).toEqual(new Set([d.key]));
    expect(waits).toHaveLength(4); // no wait after the attempt that succeeded
    expect(errors).toHaveLength(1); // one line when delivery starts failing, not one per attempt
    expect(fh.stats().events).toMatchObject({ accepted: 2, delivered: 2, objects: 1, retrying: 0, errorOutput: 0, undelivered: 0, s3Failures: 4 });
  });

  it('stop() tries each failing delivery once more, then reports the records it could not deliver', async () => {
    let stopping = false;
    const afterStop: string[] = [];
    const { fh, client, objects } = await start({
      // A 10-minute retry delay, far past the 60 s test timeout: a stop() that waited out the
      // retry would time the test out, with no clock read here for a busy machine to upset.
      intervalScale: 120,
      deliver: async (_bucket, key) => {
        if (stopping) afterStop.push(key);
        throw new Error('no bucket');
      },
    });
    const errors: FirehoseDeliveryError[] = [];
    fh.on('error', (e) => errors.push(e));
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('a\n') } }));
    await fh.flush();
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: [{ Data: Buffer.from('b\n') }, { Data: Buffer.from('c\n') }] }));
    await fh.flush();
    expect(fh.stats().events).toMatchObject({ accepted: 3, retrying: 3, undelivered: 0 });
    // The guard above holds only while the delay really is that long.
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('retrying every 600 s'), expect.stringContaining('retrying every 600 s')]);
    stopping = true;
    await fh.stop();
    // One last attempt for each buffer, without waiting out the retry delay.
    expect(afterStop).toHaveLength(2);
    expect(objects.size).toBe(0);
    expect(fh.stats().events).toMatchObject({
      accepted: 3,
      delivered: 0,
      retrying: 0,
      errorOutput: 0,
      undelivered: 3,
      undeliveredBuffers: 2,
    });
    const final = errors.filter((e) => e.final);
    expect(final).toHaveLength(1);
    expect(final[0]).toMatchObject({ stream: 'events', records: 3 });
    expect(final[0]?.message).toMatch(/3 records in 2 buffers .*not delivered.*no bucket.*lost/);
  });

  it('stop() without an error listener logs the lost records rather than dropping them silently', async () => {
    const { fh, client } = await start({
      deliver: async () => {
        throw new Error('no bucket');
      },
    });
    await client.send(new PutRecordCommand({ DeliveryStreamName: 'events', Record: { Data: Buffer.from('gone\n') } }));
    const logged: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
    try {
      await fh.stop();
    } finally {
      console.error = original;
    }
    expect(logged.some((l) => /1 record in 1 buffer .*not delivered.*lost/.test(l))).toBe(true);
    expect(fh.stats().events).toMatchObject({ undelivered: 1, undeliveredBuffers: 1 });
  });
});

/** The embedded S3 with these buckets and a client of it, both cleaned up after the test. */
async function embeddedS3(buckets: string[]): Promise<S3Client> {
  const s3 = await startS3({ buckets });
  cleanups.push(() => s3.stop());
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
  cleanups.push(() => client.destroy());
  return client;
}

describe('Firehose emulator with the embedded S3', () => {
  it('delivers under the normal prefix once a bucket that refused writes exists, nothing under the error prefix', async () => {
    const s3client = await embeddedS3([]);
    const { fh, client } = await start({
      streams: [stream({ prefix: 'inventory/', errorOutputPrefix: 'inventory-errors/!{firehose:error-output-type}/' })],
      intervalScale: 1 / 60,
      deliver: async (Bucket, Key, Body) => {
        await s3client.send(new PutObjectCommand({ Bucket, Key, Body }));
      },
    });
    const lines = ['{"sku":1}\n', '{"sku":2}\n', '{"sku":3}\n'].map((l) => Buffer.from(l));
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: lines.map((Data) => ({ Data })) }));
    await fh.flush(); // the first attempt fails: NoSuchBucket
    expect(fh.stats().events).toMatchObject({ delivered: 0, retrying: 3 });
    const delivered = once(fh.events, 'delivered');
    await s3client.send(new CreateBucketCommand({ Bucket: 'lake' }));
    await delivered;
    const listed = await s3client.send(new ListObjectsV2Command({ Bucket: 'lake' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key as string);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^inventory\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/events-1-/);
    const got = await s3client.send(new GetObjectCommand({ Bucket: 'lake', Key: keys[0] }));
    expect(await got.Body?.transformToString()).toBe(lines.join(''));
    expect(fh.stats().events).toMatchObject({ accepted: 3, delivered: 3, objects: 1, retrying: 0, errorOutput: 0, undelivered: 0 });
  });

  it('delivers objects a real S3 client reads back byte for byte', async () => {
    const s3client = await embeddedS3(['lake']);
    const { fh, client } = await start({
      streams: [stream({ prefix: 'inventory/year=!{timestamp:yyyy}/month=!{timestamp:MM}/' })],
      now: () => new Date('2024-02-29T10:00:00Z'),
      deliver: async (Bucket, Key, Body) => {
        await s3client.send(new PutObjectCommand({ Bucket, Key, Body }));
      },
    });
    const lines = Array.from({ length: 300 }, (_, i) => Buffer.from(`${JSON.stringify({ sku: i, name: `item ${i} – ü` })}\n`));
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: lines.map((Data) => ({ Data })) }));
    await fh.flush();
    const listed = await s3client.send(new ListObjectsV2Command({ Bucket: 'lake' }));
    expect(listed.Contents).toHaveLength(1);
    const key = listed.Contents?.[0]?.Key as string;
    expect(key).toMatch(new RegExp(`^inventory/year=2024/month=02/events-1-2024-02-29-10-00-00-${UUID}$`));
    const got = await s3client.send(new GetObjectCommand({ Bucket: 'lake', Key: key }));
    expect(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray())).toEqual(
      Buffer.concat(lines),
    );
  });
});
