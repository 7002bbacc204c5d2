import { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { MIN_PART_SIZE, MultipartWriter } from '../../src/multipart-writer.ts';
import { uploadStream } from '../../src/upload.ts';

/**
 * An S3 that stores parts but never answers a CompleteMultipartUpload nor an AbortMultipartUpload:
 * a request it holds ends only when its abortSignal does (as the SDK's requests do), else never.
 */
function unansweringS3() {
  const calls: string[] = [];
  const never = (signal: AbortSignal | undefined) =>
    new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true }));
  const client = {
    config: { requestChecksumCalculation: async () => 'WHEN_REQUIRED', responseChecksumValidation: async () => 'WHEN_REQUIRED' },
    async send(command: object, options?: { abortSignal?: AbortSignal }) {
      calls.push(command.constructor.name);
      if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'upload-1' };
      if (command instanceof UploadPartCommand) return { ETag: `"part-${(command.input as { PartNumber: number }).PartNumber}"` };
      if (command instanceof PutObjectCommand) return { ETag: '"put"' };
      if (command instanceof CompleteMultipartUploadCommand || command instanceof AbortMultipartUploadCommand) return never(options?.abortSignal);
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  };
  return { client: client as unknown as S3Client, calls };
}

/** Settles within `ms`, or says it did not. */
const within = <T>(ms: number, work: Promise<T>) =>
  Promise.race([work.then(() => 'settled', () => 'settled'), new Promise<string>((resolve) => setTimeout(() => resolve(`still pending after ${ms} ms`), ms).unref())]);

describe('clean-up after a failure ends within its budget, however slow S3 is to answer', () => {
  it('MultipartWriter: an AbortMultipartUpload left unanswered is given up and reported', async () => {
    const { client, calls } = unansweringS3();
    const failures: unknown[] = [];
    const w = new MultipartWriter({ client, bucket: 'b', key: 'k', contentType: 'text/plain', cleanupMs: 100, onAbortFailure: (e) => failures.push(e) });
    w.write(Buffer.alloc(MIN_PART_SIZE + 1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await within(2_000, w.abort(new Error('stopped')))).toBe('settled');
    expect(calls).toContain('AbortMultipartUploadCommand');
    expect(failures).toEqual([expect.objectContaining({ name: 'AbortError' })]);
  });

  it('uploadStream: a stop past the late grace, with Complete and Abort unanswered, rejects with the stop, and says the abort was given up', async () => {
    const { client, calls } = unansweringS3();
    const failures: unknown[] = [];
    const stop = new AbortController();
    const body = Readable.from([Buffer.alloc(MIN_PART_SIZE), Buffer.alloc(MIN_PART_SIZE / 2)]);
    // Stopped once the body has ended and the Complete is on its way (S3 never answers it).
    body.once('end', () => setTimeout(() => stop.abort(new Error('the deadline')), 20));
    const upload = uploadStream({ client, bucket: 'b', key: 'k', body, contentType: 'text/plain', signal: stop.signal, lateStopGraceMs: 50, cleanupMs: 100, onAbortFailure: (e) => failures.push(e) });
    expect(await within(2_000, upload)).toBe('settled');
    await expect(upload).rejects.toThrow('the deadline');
    expect(calls).toEqual(expect.arrayContaining(['CreateMultipartUploadCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand', 'AbortMultipartUploadCommand']));
    expect(failures).toEqual([expect.objectContaining({ name: 'AbortError' })]);
  });
});
