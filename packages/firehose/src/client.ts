import { FirehoseClient } from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { envEndpointUrl } from '@laminar/runtime';
import { z } from 'zod';

/** What a function's config needs for Firehose: AWS leaves the endpoint unset, the local runner sets it. */
export const firehoseEnvSchema = z.object({
  AWS_ENDPOINT_URL_FIREHOSE: envEndpointUrl.optional(),
});

export interface FirehoseClientOptions {
  region?: string;
  endpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  /**
   * Whole-request attempts the SDK makes on throttling, 5xx and timeouts (default 1: putRecords
   * retries). The SDK's retries are not seen by putRecords: a call that timed out, then a retry
   * answered by a 503 or a success, would report its records as surely not delivered, or delivered
   * once, when the unanswered attempt may have delivered them.
   */
  maxAttempts?: number;
  /** Time to open a connection before the attempt fails (default 3 s). */
  connectionTimeoutMs?: number;
  /**
   * Time a request may take, from its first byte sent to its response's headers, before the attempt
   * fails with a TimeoutError (default 10 s): a 4 MiB call takes well under a second. The same time
   * bounds each silence after that, while the response's body arrives (a 500-record answer is
   * ~100 KB): the SDK's request timer stops at the headers, and its socket timeout alone would wait
   * 300 s.
   */
  requestTimeoutMs?: number;
}

export function firehoseOptionsFromEnv(env: z.output<typeof firehoseEnvSchema>): FirehoseClientOptions {
  return { endpoint: env.AWS_ENDPOINT_URL_FIREHOSE };
}

/**
 * One client per execution environment. The same code reaches AWS or the runner's endpoint: only
 * the endpoint differs.
 *
 * The SDK's own handler gives up on a silent connection after 300 s of silence, past any
 * function's timeout: here a call that gets no answer fails in seconds, as a transient TimeoutError
 * (retried by putRecords, which remembers that its records may have arrived), while the invocation
 * still has time to report them.
 */
export function createFirehoseClient(options: FirehoseClientOptions = {}): FirehoseClient {
  return new FirehoseClient({
    maxAttempts: options.maxAttempts ?? 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
      // Without it a request past requestTimeout only logs a warning and keeps waiting.
      throwOnRequestTimeout: true,
      // requestTimeout ends with the response's headers: a body that stalls after them would hold
      // the call until the invocation's deadline.
      socketTimeout: options.requestTimeoutMs ?? 10_000,
    }),
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}
