import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, readBoundedBody } from '../../src/bounded-body.ts';

/** A body of `chunks` chunks of `size` bytes, endless when chunks is Infinity; counts what was pulled and whether it was cancelled. */
function streamed(chunks: number, size: number) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= chunks) return controller.close();
      state.pulled++;
      controller.enqueue(new Uint8Array(size).fill(120));
    },
    cancel() {
      state.cancelled = true;
    },
    // Pulled only when read: the count says how far the reader went.
  }, { highWaterMark: 0 });
  return { body, state };
}

describe('reading a body up to a limit', () => {
  it('returns a body of exactly the limit, whole', async () => {
    const { body } = streamed(4, 250);
    const bytes = await readBoundedBody(new Response(body), 1000);
    expect(bytes.byteLength).toBe(1000);
    expect(new TextDecoder().decode(bytes)).toBe('x'.repeat(1000));
  });

  it('cuts an endless body off just past the limit and cancels its stream', async () => {
    const { body, state } = streamed(Number.POSITIVE_INFINITY, 100);
    const error = await readBoundedBody(new Response(body), 999).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect((error as BodyTooLargeError).declaredBytes).toBeUndefined();
    expect((error as Error).message).toBe('body exceeds the 999 bytes read');
    expect(state.cancelled).toBe(true);
    // No further than the chunk that crossed the limit.
    expect(state.pulled).toBe(10);
  });

  it('refuses a declared length over the limit before reading, unless the body is compressed', async () => {
    const { body, state } = streamed(1, 10);
    const error = await readBoundedBody(new Response(body, { headers: { 'content-length': '5000' } }), 1000).catch((e: unknown) => e);
    expect((error as BodyTooLargeError).declaredBytes).toBe(5000);
    expect((error as Error).message).toBe('body is 5000 bytes, over the 1000 read');
    expect(state.cancelled).toBe(true);
    // A compressed length says nothing of the decoded size: the body is read and counted.
    const gzipped = streamed(1, 10);
    const bytes = await readBoundedBody(new Response(gzipped.body, { headers: { 'content-length': '5000', 'content-encoding': 'gzip' } }), 1000);
    expect(bytes.byteLength).toBe(10);
  });

  it('reads a response without a body as empty', async () => {
    expect((await readBoundedBody(new Response(null, { status: 204 }), 10)).byteLength).toBe(0);
  });
});
