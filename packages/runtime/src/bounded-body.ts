/**
 * A response body larger than its reader takes. `declaredBytes`: the server's Content-Length said
 * so before a byte was read; otherwise the body was cut off once the count passed `maxBytes`.
 */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly maxBytes: number;
  readonly declaredBytes: number | undefined;

  constructor(maxBytes: number, declaredBytes?: number) {
    super(declaredBytes === undefined ? `body exceeds the ${maxBytes} bytes read` : `body is ${declaredBytes} bytes, over the ${maxBytes} read`);
    this.maxBytes = maxBytes;
    this.declaredBytes = declaredBytes;
  }
}

/**
 * A fetch response's body, up to `maxBytes` (decoded bytes). Refused at once when an uncompressed
 * Content-Length says it is bigger; otherwise read as it streams, and the stream — and so the
 * connection — cancelled the moment the count would pass the limit: memory stays bounded by the
 * limit whatever a server, or something in between, sends. Why by hand: fetch's own readers
 * (text(), arrayBuffer()) take whatever comes.
 */
export async function readBoundedBody(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  // A compressed length says nothing of the decoded size: only the count below applies then.
  if (!res.headers.get('content-encoding') && res.headers.has('content-length') && Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(maxBytes, declared);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel('over the size limit').catch(() => undefined);
        throw new BodyTooLargeError(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
