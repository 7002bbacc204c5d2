import { Readable } from 'node:stream';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, uploadStream } from '../../src/index.ts';

const BUCKET = 'documents';
let s3: S3Emulator;

beforeAll(async () => {
  s3 = await startS3({ buckets: [BUCKET] });
});
afterAll(async () => {
  await s3?.stop();
});

/** A client whose `commandName` request, once answered, fires `stop` before the answer is read. */
function clientStoppingAfter(commandName: string, stop: AbortController): S3Client {
  const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === commandName) {
        stop.abort(new Error('deadline'));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return out;
    },
    { step: 'initialize', name: 'stop-after' },
  );
  return client;
}

const visible = (client: S3Client, key: string) =>
  client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    (h) => h.ContentLength,
    () => undefined,
  );

describe('uploadStream stopped by its signal', () => {
  it('uploads nothing when the signal stopped before the upload began (no abort event will come)', async () => {
    const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
    const stop = new AbortController();
    stop.abort(new Error('deadline'));
    const upload = uploadStream({ client, bucket: BUCKET, key: 'stopped/before.txt', contentType: 'text/plain', body: Readable.from([Buffer.from('hello')]), signal: stop.signal });
    await expect(upload).rejects.toThrow('deadline');
    expect(await visible(client, 'stopped/before.txt')).toBeUndefined();
    client.destroy();
  });

  it('aborts while the body is still being read: nothing becomes visible, and the signal\'s reason is the error', async () => {
    const stop = new AbortController();
    const client = clientStoppingAfter('UploadPartCommand', stop);
    const body = Readable.from((function* () {
      for (let i = 0; i < 4; i++) yield Buffer.alloc(5 * 1024 * 1024, 97);
    })());
    await expect(uploadStream({ client, bucket: BUCKET, key: 'early.jsonl', body, contentType: 'text/plain', signal: stop.signal })).rejects.toThrow('deadline');
    expect(await visible(client, 'early.jsonl')).toBeUndefined();
    client.destroy();
  });

  it('aborts the multipart upload a stop during CreateMultipartUpload opened, once S3 answers with its id', async () => {
    const stop = new AbortController();
    const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
    const created: string[] = [];
    const aborted: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'AbortMultipartUploadCommand') aborted.push((args.input as { UploadId: string }).UploadId);
        if (context.commandName !== 'CreateMultipartUploadCommand') return next(args);
        stop.abort(new Error('deadline'));
        await new Promise((resolve) => setTimeout(resolve, 100));
        const out = await next(args);
        created.push((out.output as { UploadId: string }).UploadId);
        return out;
      },
      { step: 'initialize', name: 'stop-during-create' },
    );
    const body = Readable.from([Buffer.alloc(6 * 1024 * 1024, 97)]);
    await expect(uploadStream({ client, bucket: BUCKET, key: 'stopped-creating.jsonl', body, contentType: 'text/plain', signal: stop.signal })).rejects.toThrow('deadline');
    expect(created).toHaveLength(1);
    expect(aborted).toEqual(created);
    expect(await visible(client, 'stopped-creating.jsonl')).toBeUndefined();
    client.destroy();
  });

  it('reports S3\'s own error, not the stop\'s, when a request it let finish after the stop then fails', async () => {
    const stop = new AbortController();
    const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'CompleteMultipartUploadCommand') return next(args);
        stop.abort(new Error('deadline'));
        throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      },
      { step: 'initialize', name: 'fail-complete' },
    );
    const body = Readable.from([Buffer.alloc(6 * 1024 * 1024, 97)]);
    await expect(uploadStream({ client, bucket: BUCKET, key: 'failed-late.jsonl', body, contentType: 'text/plain', signal: stop.signal })).rejects.toThrow(/internal error/);
    expect(await visible(client, 'failed-late.jsonl')).toBeUndefined();
    client.destroy();
  });

  it('gives a stop after the body ended a grace, then reports the stop: a completion S3 does not answer is not waited out', async () => {
    const stop = new AbortController();
    const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
    // The completion is held until the test lets it go, after the upload has settled: an upload
    // that waited for S3's answer would never settle, so one that did gave up on it.
    let released = false;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = () => {
        released = true;
        resolve();
      };
    });
    let stoppedAt = 0;
    let guard: NodeJS.Timeout | undefined;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'CompleteMultipartUploadCommand') return next(args);
        // S3 slow to answer the completion: the deadline comes while it waits, after the body ended.
        stoppedAt = performance.now();
        stop.abort(new Error('deadline'));
        // A hang guard, not a measure: an upload that waits for the held completion fails below
        // (released, then finished) rather than at the test's timeout.
        guard = setTimeout(release, 30_000);
        await held;
        return next(args);
      },
      { step: 'initialize', name: 'hold-complete' },
    );
    const body = Readable.from([Buffer.alloc(6 * 1024 * 1024, 97)]);
    const outcome = await uploadStream({ client, bucket: BUCKET, key: 'held.jsonl', body, contentType: 'text/plain', signal: stop.signal, lateStopGraceMs: 200 }).then(
      () => 'finished',
      (e: Error) => e.message,
    );
    const settledAt = performance.now();
    clearTimeout(guard);
    expect({ outcome, released }).toEqual({ outcome: 'deadline', released: false });
    // The grace came first: the upload's own 200 ms timer, begun at the stop, ends no sooner
    // however loaded the machine (less a timer's rounding).
    expect(settledAt - stoppedAt).toBeGreaterThanOrEqual(200 - 10);
    release();
    client.destroy();
  });

  it('rethrows the upload\'s own error when the abort after it fails and its reporter throws too', async () => {
    const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand') throw Object.assign(new Error('part refused'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
        if (context.commandName === 'AbortMultipartUploadCommand') throw new Error('abort refused');
        return next(args);
      },
      { step: 'initialize', name: 'fail-part-and-abort' },
    );
    const reported: unknown[] = [];
    const onAbortFailure = (e: unknown) => {
      reported.push(e);
      throw new Error('reporter failed');
    };
    const body = Readable.from([Buffer.alloc(6 * 1024 * 1024, 97)]);
    await expect(uploadStream({ client, bucket: BUCKET, key: 'refused.jsonl', body, contentType: 'text/plain', onAbortFailure })).rejects.toThrow('part refused');
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).toContain('abort refused');
    client.destroy();
  });

  it('finishes, and says so, when the stop comes after the body ended: the object appears whole either way', async () => {
    const stop = new AbortController();
    const client = clientStoppingAfter('CompleteMultipartUploadCommand', stop);
    const body = Readable.from([Buffer.alloc(6 * 1024 * 1024, 97)]);
    const done = await uploadStream({ client, bucket: BUCKET, key: 'late.jsonl', body, contentType: 'text/plain', signal: stop.signal });
    expect(done.etag).toBeTruthy();
    expect(await visible(client, 'late.jsonl')).toBe(6 * 1024 * 1024);
    client.destroy();
  });
});
