import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import * as zlib from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { MIN_PART_SIZE, MultipartWriter, type MultipartWriterOptions } from '../../src/multipart-writer.ts';

const PART = MIN_PART_SIZE;

interface Call {
  name: string;
  input: Record<string, unknown>;
  /** UploadPart/PutObject: the body's bytes as they were when the request was sent. */
  sent?: Buffer;
  /** The body as the SDK got it (a view of the writer's buffer). */
  body?: Uint8Array;
  signal?: AbortSignal | undefined;
  /** The request timeout the call asked for, if it set one. */
  requestTimeout?: number | undefined;
}

/**
 * A stand-in S3 client: records every command, and lets a test hold UploadPart requests open
 * (held: true) and settle them one by one, in any order.
 */
function fakeS3(
  options: {
    checksums?: boolean;
    failPart?: number;
    failAbort?: boolean;
    failCreate?: boolean;
    failPut?: boolean;
    holdCreate?: boolean;
    holdAbort?: boolean;
    held?: boolean;
  } = {},
) {
  const calls: Call[] = [];
  const open: { call: Call; resolve: () => void; reject: (e: unknown) => void }[] = [];
  /** With holdCreate: lets the CreateMultipartUpload held open answer. */
  let releaseCreate: () => void = () => undefined;
  const createAnswered = new Promise<void>((resolve) => {
    releaseCreate = resolve;
  });
  /** With holdAbort: lets the AbortMultipartUpload requests held open answer. */
  let releaseAbort: () => void = () => undefined;
  const abortAnswered = new Promise<void>((resolve) => {
    releaseAbort = resolve;
  });
  const client = {
    config: { requestChecksumCalculation: async () => (options.checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED') },
    async send(command: { input: Record<string, unknown> }, sendOptions?: { abortSignal?: AbortSignal; requestTimeout?: number }) {
      const name = command.constructor.name;
      const call: Call = { name, input: command.input, signal: sendOptions?.abortSignal, requestTimeout: sendOptions?.requestTimeout };
      const body = command.input.Body;
      if (body instanceof Uint8Array) {
        call.body = body;
        call.sent = Buffer.from(body);
      }
      calls.push(call);
      if (command instanceof CreateMultipartUploadCommand) {
        if (options.failCreate) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
        // S3 creates the upload whatever becomes of the request: a held create answers even if cancelled.
        if (options.holdCreate) await createAnswered;
        return { UploadId: 'upload-1' };
      }
      if (command instanceof AbortMultipartUploadCommand) {
        if (options.holdAbort) await abortAnswered;
        if (options.failAbort) throw Object.assign(new Error('The specified method is not allowed against this resource.'), { name: 'MethodNotAllowed' });
        return {};
      }
      if (command instanceof CompleteMultipartUploadCommand) return { ETag: '"complete"', VersionId: 'v1' };
      if (command instanceof PutObjectCommand) {
        if (options.failPut) throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' });
        return { ETag: '"put"' };
      }
      if (command instanceof UploadPartCommand) {
        const n = command.input.PartNumber as number;
        if (n === options.failPart) throw Object.assign(new Error(`part ${n} failed`), { name: 'InternalError' });
        if (options.held) {
          await new Promise<void>((resolve, reject) => {
            open.push({ call, resolve, reject });
            sendOptions?.abortSignal?.addEventListener('abort', () => reject(sendOptions.abortSignal?.reason), { once: true });
          });
        }
        return { ETag: `"etag-${n}"`, ...(options.checksums ? { ChecksumCRC32: `crc-${n}` } : {}) };
      }
      throw new Error(`unexpected ${name}`);
    },
  };
  return { client: client as unknown as S3Client, calls, open, releaseCreate: () => releaseCreate(), releaseAbort: () => releaseAbort() };
}

function writer(client: S3Client, options: Partial<MultipartWriterOptions> = {}): MultipartWriter {
  return new MultipartWriter({ client, bucket: 'b', key: 'k', contentType: 'application/x-ndjson', ...options });
}

/** Bytes 0..n-1 with a recognisable pattern. */
function bytes(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const names = (calls: Call[]) => calls.map((c) => c.name);
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('MultipartWriter', () => {
  it('PUTs a body smaller than one part in one request, strings as UTF-8', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client);
    expect(w.write('{"name":"Zoë"}\n')).toBe(true);
    expect(w.write(Buffer.from('tail'))).toBe(true);
    expect(await w.end()).toEqual({ etag: '"put"', versionId: undefined, bytes: 20, parts: 0 });
    expect(names(calls)).toEqual(['PutObjectCommand']);
    expect(calls[0]?.sent?.toString('utf8')).toBe('{"name":"Zoë"}\ntail');
    expect(calls[0]?.input).toMatchObject({ Bucket: 'b', Key: 'k', ContentType: 'application/x-ndjson' });
  });

  it('PUTs an empty body, and a body of exactly one part', async () => {
    const empty = fakeS3();
    await writer(empty.client).end();
    expect(names(empty.calls)).toEqual(['PutObjectCommand']);
    expect(empty.calls[0]?.sent?.length).toBe(0);

    const one = fakeS3();
    const w = writer(one.client);
    w.write(bytes(PART));
    expect(await w.end()).toMatchObject({ parts: 0, bytes: PART });
    expect(names(one.calls)).toEqual(['PutObjectCommand']);
    expect(one.calls[0]?.sent?.equals(bytes(PART))).toBe(true);
  });

  it('gives a request that uploads more than 5 MiB the time its bytes need at 256 KiB/s, not the client\'s 30 s', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client, { partSize: 16 * 2 ** 20 });
    w.write(bytes(16 * 2 ** 20 + 1));
    await w.end();
    const timeouts = calls.filter((c) => c.name === 'UploadPartCommand').map((c) => [c.input.PartNumber, c.requestTimeout]);
    expect(timeouts).toEqual([
      [1, 65_536],
      [2, 30_000],
    ]);
    const one = fakeS3();
    const big = writer(one.client, { partSize: 16 * 2 ** 20 });
    big.write(bytes(12 * 2 ** 20));
    await big.end();
    expect(one.calls.map((c) => [c.name, c.requestTimeout])).toEqual([['PutObjectCommand', 49_152]]);
  });

  it('creates the upload with the first write when expectedBytes says the body needs parts', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client, { expectedBytes: 3 * PART });
    w.write(bytes(1000));
    await flush();
    // Not a part full yet, and the upload exists: the first part will not wait for it.
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand']);
    w.write(bytes(2 * PART, 1));
    expect(await w.end()).toMatchObject({ parts: 3, bytes: 2 * PART + 1000 });
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand']);
  });

  it('PUTs a body that fits one part after all, aborting the early upload (a failed abort only reported)', async () => {
    const { client, calls } = fakeS3({ failAbort: true });
    const abortFailures: unknown[] = [];
    const w = writer(client, { expectedBytes: 10 * PART, onAbortFailure: (e) => abortFailures.push(e) });
    w.write('{"only":"row"}\n');
    expect(await w.end()).toMatchObject({ parts: 0, etag: '"put"' });
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'AbortMultipartUploadCommand', 'PutObjectCommand']);
    expect(calls[1]?.input).toMatchObject({ UploadId: 'upload-1' });
    expect(calls[2]?.sent?.toString()).toBe('{"only":"row"}\n');
    expect(abortFailures).toEqual([expect.objectContaining({ name: 'MethodNotAllowed' })]);
  });

  it('PUTs an empty body with expectedBytes too, after aborting the early upload', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client, { expectedBytes: 10 * PART });
    w.write('');
    w.write(Buffer.alloc(0));
    expect(await w.end()).toMatchObject({ parts: 0, bytes: 0 });
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'AbortMultipartUploadCommand', 'PutObjectCommand']);
    expect(calls[2]?.sent?.length).toBe(0);
  });

  it('sends no PutObject when stopped while the early create is under way, and aborts the upload S3 made', async () => {
    const { client, calls, releaseCreate } = fakeS3({ holdCreate: true });
    const w = writer(client, { expectedBytes: 10 * PART });
    w.write('{"a":1}\n');
    const ended = w.end();
    await flush();
    const stopped = w.abort(new Error('deadline'));
    releaseCreate();
    await stopped;
    await expect(ended).rejects.toThrow('deadline');
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'AbortMultipartUploadCommand']);
  });

  it('aborts the early upload once, even when the PutObject then fails', async () => {
    const { client, calls } = fakeS3({ failPut: true });
    const w = writer(client, { expectedBytes: 10 * PART });
    w.write('{"a":1}\n');
    await expect(w.end()).rejects.toThrow('Service Unavailable');
    expect(names(calls).filter((n) => n === 'AbortMultipartUploadCommand')).toHaveLength(1);
  });

  it("rejects after the early upload's abort is over, not while it is still out, when the PutObject fails", async () => {
    const { client, calls, releaseAbort } = fakeS3({ failPut: true, holdAbort: true });
    const w = writer(client, { expectedBytes: 10 * PART });
    w.write('{"a":1}\n');
    let settled = false;
    const ended = w.end().catch((error: unknown) => {
      settled = true;
      return error;
    });
    await flush();
    await flush();
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'AbortMultipartUploadCommand', 'PutObjectCommand']);
    expect(settled).toBe(false);
    releaseAbort();
    expect(await ended).toMatchObject({ name: 'ServiceUnavailable' });
  });

  it('fails with a stop heard before the end was settled, even when S3 had already stored the object', async () => {
    const { client, calls, releaseAbort } = fakeS3({ holdAbort: true });
    const errors: unknown[] = [];
    const w = writer(client, { expectedBytes: 10 * PART, onError: (e) => errors.push(e) });
    w.write('{"a":1}\n');
    const ended = w.end();
    ended.catch(() => undefined);
    await flush();
    await flush();
    // The PutObject is answered; the writer still waits for the early upload's abort.
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'AbortMultipartUploadCommand', 'PutObjectCommand']);
    const stopped = w.abort(new Error('deadline'));
    releaseAbort();
    await stopped;
    await expect(ended).rejects.toThrow('deadline');
    expect(errors).toEqual([expect.objectContaining({ message: 'deadline' })]);
  });

  it('fails at once when the early create fails, with its error', async () => {
    const { client, calls } = fakeS3({ failCreate: true });
    const errors: unknown[] = [];
    const w = writer(client, { expectedBytes: 10 * PART, onError: (e) => errors.push(e) });
    w.write(bytes(100));
    await flush();
    expect(errors).toEqual([expect.objectContaining({ name: 'AccessDenied' })]);
    expect(() => w.write(bytes(100))).toThrow('Access Denied');
    await expect(w.end()).rejects.toThrow('Access Denied');
    // Nothing was created, so nothing is aborted.
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand']);
  });

  it('splits a larger body into parts of exactly partSize, and completes with the parts in order', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client);
    const body = bytes(2 * PART + 12_345);
    // Written in uneven pieces that straddle the part boundaries.
    for (let i = 0; i < body.length; i += 999_983) {
      if (!w.write(body.subarray(i, i + 999_983))) await w.drained();
    }
    expect(await w.end()).toEqual({ etag: '"complete"', versionId: 'v1', bytes: body.length, parts: 3 });
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand']);
    const parts = calls.filter((c) => c.name === 'UploadPartCommand');
    expect(parts.map((p) => [p.input.PartNumber, p.sent?.length, p.input.ContentLength])).toEqual([
      [1, PART, PART],
      [2, PART, PART],
      [3, 12_345, 12_345],
    ]);
    expect(Buffer.concat(parts.map((p) => p.sent as Buffer)).equals(body)).toBe(true);
    expect(calls.at(-1)?.input).toMatchObject({ UploadId: 'upload-1', MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"etag-1"' }, { PartNumber: 2 }, { PartNumber: 3 }] } });
  });

  it('gives every part its CRC32 and declares it, whether the client computes checksums or not', async () => {
    for (const checksums of [false, true]) {
      const { client, calls } = fakeS3({ checksums });
      const w = writer(client);
      w.write(bytes(PART + 1));
      await w.end();
      expect(calls[0]?.input).toMatchObject({ ChecksumAlgorithm: 'CRC32' });
      const parts = calls.filter((c) => c.name === 'UploadPartCommand');
      const crc = (data: Buffer) => {
        const value = Buffer.alloc(4);
        value.writeUInt32BE(zlib.crc32(data));
        return value.toString('base64');
      };
      expect(parts.map((p) => p.input.ChecksumCRC32)).toEqual(parts.map((p) => crc(p.sent as Buffer)));
      expect(calls.at(-1)?.input).toMatchObject({
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ChecksumCRC32: parts[0]?.input.ChecksumCRC32 },
            { PartNumber: 2, ChecksumCRC32: parts[1]?.input.ChecksumCRC32 },
          ],
        },
      });
    }
  });

  it("takes over the part buffers of a writer that succeeded, and writes its own bytes into them", async () => {
    const first = fakeS3();
    const a = writer(first.client);
    a.write(bytes(2 * PART + 10, 1));
    await a.end();
    const allocations = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      const second = fakeS3();
      const b = writer(second.client);
      const body = bytes(2 * PART + 10, 2);
      b.write(body);
      await b.end();
      expect(allocations).not.toHaveBeenCalled();
      const sent = Buffer.concat(second.calls.filter((c) => c.name === 'UploadPartCommand').map((c) => c.sent as Buffer));
      expect(sent.equals(body)).toBe(true);
    } finally {
      allocations.mockRestore();
    }
  });

  it('holds at most partsInFlight + 1 buffers, reuses one only after its part is done, and pushes back when all are busy', async () => {
    const { client, calls, open } = fakeS3({ held: true });
    const w = writer(client, { partsInFlight: 2 });
    const body = bytes(5 * PART + 7, 3);
    let offset = 0;
    const piece = 1 << 20;
    // Fill until the writer says stop: 2 parts uploading, a third full, and the next data queued.
    while (w.write(body.subarray(offset, offset + piece))) offset += piece;
    offset += piece;
    await flush();
    expect(open.map((o) => o.call.input.PartNumber)).toEqual([1, 2]);
    let drained = false;
    const waiting = w.drained().then(() => {
      drained = true;
    });
    await flush();
    expect(drained).toBe(false);

    // Part 2 finishes first: its buffer takes the queued data; part 3 starts.
    open.splice(1, 1)[0]?.resolve();
    await waiting;
    await flush();
    expect(open.map((o) => o.call.input.PartNumber)).toEqual([1, 3]);
    const ending = (async () => {
      while (offset < body.length) {
        if (!w.write(body.subarray(offset, offset + piece))) await w.drained();
        offset += piece;
      }
      return w.end();
    })();
    while (open.length > 0 || calls.filter((c) => c.name === 'UploadPartCommand').length < 6) {
      await flush();
      // Every request still open must see its bytes unchanged: nobody refilled its buffer.
      for (const o of open) expect(Buffer.from(o.call.body as Uint8Array).equals(o.call.sent as Buffer)).toBe(true);
      open.shift()?.resolve();
    }
    expect(await ending).toMatchObject({ parts: 6, bytes: body.length });
    const parts = calls.filter((c) => c.name === 'UploadPartCommand');
    expect(new Set(parts.map((p) => (p.body as Uint8Array).buffer)).size).toBeLessThanOrEqual(3);
    const sorted = [...parts].sort((a, b) => (a.input.PartNumber as number) - (b.input.PartNumber as number));
    expect(Buffer.concat(sorted.map((p) => p.sent as Buffer)).equals(body)).toBe(true);
    const completed = calls.at(-1)?.input.MultipartUpload as { Parts: { PartNumber: number }[] } | undefined;
    expect(completed?.Parts.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('copies what it must queue: the caller may refill its own buffer as soon as write() returns', async () => {
    const { client, calls, open } = fakeS3({ held: true });
    const w = writer(client, { partsInFlight: 1 });
    w.write(bytes(2 * PART));
    const mine = bytes(1000, 7);
    expect(w.write(mine)).toBe(false);
    mine.fill(0);
    const ending = w.end();
    while (open.length > 0 || calls.filter((c) => c.name === 'UploadPartCommand').length < 3) {
      await flush();
      open.shift()?.resolve();
    }
    await ending;
    const last = calls.filter((c) => c.name === 'UploadPartCommand').at(-1);
    expect(last?.sent?.equals(bytes(1000, 7))).toBe(true);
  });

  it('works with a single buffer: writes wait while its part uploads', async () => {
    const { client, calls, open } = fakeS3({ held: true });
    const w = writer(client, { partsInFlight: 1, buffers: 1 });
    const body = bytes(2 * PART + 500, 9);
    expect(w.write(body.subarray(0, PART))).toBe(true);
    expect(w.write(body.subarray(PART, PART + 100))).toBe(false);
    await flush();
    expect(open).toHaveLength(1);
    const ending = (async () => {
      await w.drained();
      if (!w.write(body.subarray(PART + 100))) await w.drained();
      return w.end();
    })();
    while (open.length > 0 || calls.filter((c) => c.name === 'UploadPartCommand').length < 3) {
      await flush();
      for (const o of open) expect(Buffer.from(o.call.body as Uint8Array).equals(o.call.sent as Buffer)).toBe(true);
      open.shift()?.resolve();
    }
    expect(await ending).toMatchObject({ parts: 3 });
    const parts = calls.filter((c) => c.name === 'UploadPartCommand');
    expect(new Set(parts.map((p) => (p.body as Uint8Array).buffer)).size).toBe(1);
    expect(Buffer.concat(parts.map((p) => p.sent as Buffer)).equals(body)).toBe(true);
  });

  it('keeps text whole across a part boundary (multi-byte characters included)', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client);
    const line = `{"name":"Zoë 日本 😀","n":1}\n`;
    const batch = line.repeat(1000);
    const batches = Math.ceil((PART * 1.5) / Buffer.byteLength(batch));
    for (let i = 0; i < batches; i++) if (!w.write(batch)) await w.drained();
    const text = batch.repeat(batches);
    await w.end();
    const parts = calls.filter((c) => c.name === 'UploadPartCommand');
    expect(parts[0]?.sent?.length).toBe(PART);
    expect(Buffer.concat(parts.map((p) => p.sent as Buffer)).toString('utf8')).toBe(text);
  });

  it('fails with the part\'s error, aborts the upload and reports a failed abort apart', async () => {
    const { client, calls } = fakeS3({ failPart: 2, failAbort: true });
    const abortFailures: unknown[] = [];
    const errors: unknown[] = [];
    const w = writer(client, { onAbortFailure: (e) => abortFailures.push(e), onError: (e) => errors.push(e) });
    let thrown: unknown;
    try {
      for (let i = 0; i < 4; i++) if (!w.write(bytes(PART))) await w.drained();
      await w.end();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'InternalError', message: 'part 2 failed' });
    await expect(w.end()).rejects.toMatchObject({ message: 'part 2 failed' });
    expect(errors).toEqual([thrown]);
    expect(names(calls)).toContain('AbortMultipartUploadCommand');
    expect(names(calls)).not.toContain('CompleteMultipartUploadCommand');
    expect(abortFailures).toEqual([expect.objectContaining({ name: 'MethodNotAllowed' })]);
    expect(() => w.write('more')).toThrow('part 2 failed');
  });

  it('keeps a caller\'s callback that throws from becoming an unhandled rejection', async () => {
    const { client } = fakeS3({ failPart: 2, failAbort: true });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const w = writer(client, {
        onError: () => {
          throw new Error('callback bug');
        },
        onAbortFailure: () => {
          throw new Error('callback bug too');
        },
      });
      const done = (async () => {
        for (let i = 0; i < 4; i++) if (!w.write(bytes(PART))) await w.drained();
        await w.end();
      })();
      await expect(done).rejects.toMatchObject({ message: 'part 2 failed' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      quiet.mockRestore();
    }
  });

  it('stops on its signal: requests in flight cancelled, upload aborted, end() rejects with the reason', async () => {
    const { client, calls, open } = fakeS3({ held: true });
    const stop = new AbortController();
    const w = writer(client, { signal: stop.signal });
    w.write(bytes(PART + 10));
    w.write(bytes(10));
    await flush();
    expect(open).toHaveLength(1);
    const reason = new Error('deadline');
    stop.abort(reason);
    await expect(w.end()).rejects.toBe(reason);
    expect(open[0]?.call.signal?.aborted).toBe(true);
    expect(names(calls)).toEqual(['CreateMultipartUploadCommand', 'UploadPartCommand', 'AbortMultipartUploadCommand']);
  });

  it('aborts before any part: nothing is sent at all', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client);
    w.write('some text');
    await w.abort(new Error('changed my mind'));
    await expect(w.end()).rejects.toThrow('changed my mind');
    expect(calls).toEqual([]);
  });

  it('does nothing on abort() once complete', async () => {
    const { client, calls } = fakeS3();
    const w = writer(client);
    w.write(bytes(PART + 1));
    await w.end();
    await w.abort();
    expect(names(calls)).not.toContain('AbortMultipartUploadCommand');
    await expect(w.end()).resolves.toMatchObject({ parts: 2 });
  });

  it('refuses a part size below S3\'s minimum', () => {
    const { client } = fakeS3();
    expect(() => writer(client, { partSize: PART - 1 })).toThrow(RangeError);
    expect(() => writer(client, { partsInFlight: 0 })).toThrow(RangeError);
    expect(() => writer(client, { partsInFlight: 2, buffers: 1 })).toThrow(RangeError);
  });
});
