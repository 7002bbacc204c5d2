import { z } from 'zod';
import { probability } from './gamma.ts';
import { HttpRequestError, type JsonClient } from './http.ts';

/** The CLOB answered, but not with the shape its documentation gives. */
export class UnexpectedResponseError extends Error {
  override name = 'UnexpectedResponseError';
}

export interface MidpointOptions {
  baseUrl: string;
  http: JsonClient;
  /** Token ids per POST /midpoints request. */
  batchSize?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Told about a batch that failed; its tokens then fall back to Gamma's prices. */
  onBatchError?: (error: Error, tokenIds: string[]) => void;
}

export interface Midpoints {
  /** Token id → midpoint (0..1), for the tokens the CLOB priced. */
  prices: Map<string, number>;
  requests: number;
  failedBatches: number;
}

/**
 * 100 ids of ~77 digits make a ~10 KB body: small for the server, and with the default 500
 * markets (~1,000 tokens) ten requests, far inside the 500 per 10 s the CLOB allows /midpoints.
 */
export const MIDPOINT_BATCH = 100;
const CONCURRENCY = 4;

/** The documented answer is `{ "<token id>": "0.45" }`; `{ "<token id>": { "mid": "0.45" } }` is accepted too. */
const midpointsResponse = z.record(z.string(), z.unknown());
const midpointValue = z.union([probability, z.looseObject({ mid: probability }).transform((o) => o.mid)]);

/**
 * Current midpoints ((best bid + best ask) / 2, the price Polymarket shows) from the CLOB's batch
 * endpoint `POST /midpoints` with `[{ "token_id": … }]`. The GET form with `token_ids=` is not
 * used: clients report it answering 400 in production. A token the CLOB does not price (no order
 * book, a value that is not a probability) is simply absent from the result; so are the tokens
 * of a batch whose request failed — the caller falls back to Gamma's prices for them. Only
 * running out of the invocation's time is thrown, since nothing useful can follow it.
 */
export async function fetchMidpoints(tokenIds: readonly string[], options: MidpointOptions): Promise<Midpoints> {
  const size = Math.max(1, options.batchSize ?? MIDPOINT_BATCH);
  const unique = [...new Set(tokenIds)];
  const batches: string[][] = [];
  for (let i = 0; i < unique.length; i += size) batches.push(unique.slice(i, i + size));
  const out: Midpoints = { prices: new Map(), requests: 0, failedBatches: 0 };

  async function one(batch: string[]): Promise<void> {
    out.requests++;
    let answer: Record<string, unknown>;
    try {
      // A read, although a POST: safe to retry, which the client does.
      const body = await options.http.json(`${options.baseUrl}/midpoints`, {
        method: 'POST',
        body: batch.map((token_id) => ({ token_id })),
      });
      const parsed = midpointsResponse.safeParse(body);
      if (!parsed.success) throw new UnexpectedResponseError(`CLOB /midpoints answered ${Array.isArray(body) ? 'an array' : typeof body} instead of an object of token prices`);
      answer = parsed.data;
    } catch (err) {
      // The invocation's time ran out (DeadlineExceededError) or something unforeseen: nothing useful
      // can follow. A batch whose retry did not fit in the time left has its failure's own kind and
      // falls back below, like any other failed batch.
      if (!(err instanceof HttpRequestError || err instanceof UnexpectedResponseError)) throw err;
      out.failedBatches++;
      options.onBatchError?.(err, batch);
      return;
    }
    for (const token of batch) {
      const value = midpointValue.safeParse(answer[token]);
      if (value.success) out.prices.set(token, value.data);
    }
  }

  let next = 0;
  const worker = async () => {
    while (next < batches.length) await one(batches[next++] as string[]);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? CONCURRENCY, batches.length) }, worker));
  return out;
}
