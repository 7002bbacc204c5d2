import * as zlib from 'node:zlib';
import { AbortMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, MIN_PART_SIZE, MultipartWriter } from '../../src/index.ts';

const BUCKET = 'lake';
let s3: S3Emulator;

beforeAll(async () => {
  s3 = await startS3({ buckets: [BUCKET] });
});
afterAll(async () => {
  await s3?.stop();
});

/**
 * A client that records the commands it sends (as they start) and those S3 answered with
 * success (as the answer arrives), and can fail one of them.
 */
function client(options: { failOn?: (command: string, input: Record<string, unknown>) => Error | undefined } = {}): {
  client: S3Client;
  sent: string[];
  answered: string[];
} {
  const c = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials, forcePathStyle: true });
  const sent: string[] = [];
  const answered: string[] = [];
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName as string;
      sent.push(name);
      const error = options.failOn?.(name, args.input as Record<string, unknown>);
      if (error) throw error;
      return next(args);
    },
    { step: 'initialize', name: 'record' },
  );
  // At the deserialize step next() returns once the server's answer is in, still unparsed: an
  // error answer too, so only a 2xx one counts.
  c.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const status = (out.response as { statusCode?: number }).statusCode ?? 0;
      if (status >= 200 && status < 300) answered.push(context.commandName as string);
      return out;
    },
    { step: 'deserialize', name: 'recordAnswered' },
  );
  return { client: c, sent, answered };
}

async function read(c: S3Client, key: string): Promise<Buffer | undefined> {
  try {
    const out = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function keys(c: S3Client, prefix: string): Promise<string[]> {
  const out = await c.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string);
}

/** ~`bytes` of JSON lines with multi-byte characters, as strings of ~64 KB. */
function* lines(bytes: number): Generator<string> {
  let total = 0;
  for (let i = 0; total < bytes; i++) {
    let batch = '';
    for (let k = 0; k < 500; k++) batch += `{"n":${i * 500 + k},"name":"Zoë Müller 日本 😀","note":"${'x'.repeat(k % 90)}"}\n`;
    total += Buffer.byteLength(batch);
    yield batch;
  }
}

describe('MultipartWriter against the embedded S3', () => {
  it('sends each part with its CRC32 in a signed header and the payload unsigned (no SHA-256 of the body)', async () => {
    const c = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials, forcePathStyle: true });
    const seen: { part: number; headers: Record<string, string> }[] = [];
    // At the deserialize step the request is the one on the wire: built, checksummed and signed.
    c.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand') {
          seen.push({ part: (args.input as { PartNumber: number }).PartNumber, headers: { ...(args.request as { headers: Record<string, string> }).headers } });
        }
        return next(args);
      },
      { step: 'deserialize', name: 'recordSigned' },
    );
    const w = new MultipartWriter({ client: c, bucket: BUCKET, key: 'multi/unsigned.bin', contentType: 'application/octet-stream' });
    const body = Buffer.alloc(MIN_PART_SIZE + 1234, 'q');
    w.write(body);
    await w.end();
    const crc = (data: Buffer) => {
      const value = Buffer.alloc(4);
      value.writeUInt32BE(zlib.crc32(data));
      return value.toString('base64');
    };
    // Both parts are in flight at once: ordered by part number, not by arrival here.
    seen.sort((a, b) => a.part - b.part);
    expect(seen.map(({ headers }) => headers['x-amz-checksum-crc32'])).toEqual([crc(body.subarray(0, MIN_PART_SIZE)), crc(body.subarray(MIN_PART_SIZE))]);
    for (const { headers } of seen) {
      expect(headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
      expect(headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-checksum-crc32[^,]*x-amz-content-sha256/);
    }
    expect((await read(c, 'multi/unsigned.bin'))?.equals(body)).toBe(true);
    c.destroy();
  });

  it('writes an object of several parts that reads back byte for byte', async () => {
    const { client: c, sent } = client();
    const w = new MultipartWriter({ client: c, bucket: BUCKET, key: 'multi/object.jsonl', contentType: 'application/x-ndjson' });
    const expected: Buffer[] = [];
    for (const text of lines(2 * MIN_PART_SIZE + 300_000)) {
      expected.push(Buffer.from(text));
      if (!w.write(text)) await w.drained();
    }
    // Raw bytes too, between the texts.
    const tail = Buffer.from([0xe2, 0x82, 0xac, 0x0a]);
    w.write(tail);
    expected.push(tail);
    const result = await w.end();
    const body = Buffer.concat(expected);
    expect(result).toMatchObject({ parts: 3, bytes: body.length });
    expect(sent.filter((s) => s === 'UploadPartCommand')).toHaveLength(3);
    expect(sent).toContain('CompleteMultipartUploadCommand');
    expect((await read(c, 'multi/object.jsonl'))?.equals(body)).toBe(true);
    c.destroy();
  });

  it('sends a small body as one PutObject', async () => {
    const { client: c, sent } = client();
    const w = new MultipartWriter({ client: c, bucket: BUCKET, key: 'small/object.jsonl', contentType: 'application/x-ndjson' });
    w.write('{"a":1}\n');
    w.write('{"b":"é"}\n');
    expect(await w.end()).toMatchObject({ parts: 0, etag: expect.any(String) });
    expect(sent).toEqual(['PutObjectCommand']);
    expect((await read(c, 'small/object.jsonl'))?.toString()).toBe('{"a":1}\n{"b":"é"}\n');
    c.destroy();
  });

  it('leaves no object and no upload when aborted halfway', async () => {
    let uploadId: string | undefined;
    const { client: c, sent, answered } = client({
      failOn: (name, input) => {
        if (name === 'UploadPartCommand') uploadId = input.UploadId as string;
        return undefined;
      },
    });
    const abortFailures: unknown[] = [];
    const w = new MultipartWriter({ client: c, bucket: BUCKET, key: 'aborted/object.jsonl', contentType: 'application/x-ndjson', onAbortFailure: (e) => abortFailures.push(e) });
    for (const text of lines(MIN_PART_SIZE + 100_000)) if (!w.write(text)) await w.drained();
    // Abort once the server has stored the first part (answered it): the abort then has a part to remove.
    await expect.poll(() => answered.includes('UploadPartCommand')).toBe(true);
    await w.abort(new Error('stop'));
    await expect(w.end()).rejects.toThrow('stop');
    expect(sent).toContain('AbortMultipartUploadCommand');
    expect(abortFailures).toEqual([]);
    expect(await keys(c, 'aborted/')).toEqual([]);
    // The upload is gone, as in S3: its parts can no longer be added to nor completed.
    await expect(
      c.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'aborted/object.jsonl', UploadId: uploadId, PartNumber: 9, Body: 'x' })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(c.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'aborted/object.jsonl', UploadId: uploadId }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    c.destroy();
  });

  it('surfaces the original error of a failed part, not the abort\'s', async () => {
    const failure = Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError' });
    const { client: c, sent } = client({ failOn: (name, input) => (name === 'UploadPartCommand' && input.PartNumber === 2 ? failure : undefined) });
    const errors: unknown[] = [];
    const w = new MultipartWriter({ client: c, bucket: BUCKET, key: 'failed/object.jsonl', contentType: 'application/x-ndjson', onError: (e) => errors.push(e) });
    const run = async () => {
      for (const text of lines(2 * MIN_PART_SIZE + 100_000)) if (!w.write(text)) await w.drained();
      return w.end();
    };
    await expect(run()).rejects.toBe(failure);
    expect(errors).toEqual([failure]);
    expect(sent).toContain('AbortMultipartUploadCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    expect(await keys(c, 'failed/')).toEqual([]);
    c.destroy();
  });
});
