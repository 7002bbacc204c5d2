import type { MessageSource } from './producer.ts';
/** The Kafka configuration can never work as given (a missing or malformed setting or secret). */
export class KafkaConfigError extends Error {
  override name = 'KafkaConfigError';
}

/**
 * Not every message was acknowledged within the send's time budget. The invocation must fail so
 * Lambda retries it; the messages that did arrive will arrive again (at-least-once).
 */
export class FlushTimeoutError extends Error {
  override name = 'FlushTimeoutError';
  /**
   * Per message of the send, whether its delivery was confirmed (the others may yet arrive, or not).
   * Not enumerable (see hidePublished).
   */
  declare readonly published?: readonly boolean[];
  constructor(
    readonly delivered: number,
    readonly expected: number,
    readonly timeoutMs: number,
    published?: readonly boolean[],
    /** Value bytes of the confirmed messages, as their delivery reports gave them. */
    readonly deliveredBytes?: number,
  ) {
    super(
      `Kafka flush timed out after ${timeoutMs} ms: ${delivered} of ${expected} messages delivered; the others are unconfirmed ` +
        '(many land anyway): fail the invocation so they are sent again, and look at the broker\'s reachability or the time left for the send',
    );
    hidePublished(this, published);
  }
}

/** A delivery report (or librdkafka refusing a message) carried an error. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    message: string,
    readonly delivered: number,
    readonly failed: number,
    readonly expected: number,
    options?: { cause?: unknown; published?: readonly boolean[]; deliveredBytes?: number },
  ) {
    super(message, options);
    hidePublished(this, options?.published);
    if (options?.deliveredBytes !== undefined) this.deliveredBytes = options.deliveredBytes;
  }
  /** Per message of the send, whether its delivery was confirmed. Not enumerable (see hidePublished). */
  declare readonly published?: readonly boolean[];
  /** Value bytes of the confirmed messages, as their delivery reports gave them. */
  readonly deliveredBytes?: number;
}

/**
 * Sets `published`, one flag per message, where logs do not copy it. Powertools' error formatting and Lambda's
 * own "Invoke Error" line copy an error's enumerable properties: one flag per message of a
 * 50,000-message send made a 285 KB log line, past CloudWatch's 256 KB event (the structured
 * ERROR line that alarms and queries read, split or cut). The counts stay enumerable.
 */
function hidePublished(error: Error, published: readonly boolean[] | undefined): void {
  if (published !== undefined) Object.defineProperty(error, 'published', { value: published, enumerable: false, writable: false, configurable: true });
}

/**
 * What a failed send still delivered, counted as a send counts it: the messages its error says
 * were confirmed (FlushTimeoutError, DeliveryError) and their value bytes (what delivery reports
 * give: UTF-8 bytes, not characters). The producer's errors carry those bytes; for an error without
 * them they are summed from `messages` — which makes the confirmed messages of a lazy source again.
 * An error without per-message flags gives its `delivered` count and 0 bytes, any other error nothing.
 */
export function deliveredBefore(err: unknown, messages: MessageSource): { delivered: number; bytes: number } {
  if (!(err instanceof FlushTimeoutError || err instanceof DeliveryError)) return { delivered: 0, bytes: 0 };
  const { published } = err;
  if (published === undefined || published.length !== messages.length) return { delivered: Math.max(0, err.delivered), bytes: 0 };
  let delivered = 0;
  for (const done of published) if (done) delivered++;
  if (err.deliveredBytes !== undefined) return { delivered, bytes: err.deliveredBytes };
  let bytes = 0;
  published.forEach((done, i) => {
    const m = done ? messages.at(i) : undefined;
    if (m !== undefined) bytes += typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;
  });
  return { delivered, bytes };
}
