import { FirehoseClient } from '@aws-sdk/client-firehose';
import { z } from 'zod';

/** What a function's config needs for Firehose: AWS leaves the endpoint unset, the local runner sets it. */
export const firehoseEnvSchema = z.object({
  AWS_ENDPOINT_URL_FIREHOSE: z.url().optional(),
});

export interface FirehoseClientOptions {
  region?: string;
  endpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  /** Whole-request attempts the SDK makes on throttling and 5xx (default 3). */
  maxAttempts?: number;
}

export function firehoseOptionsFromEnv(env: z.output<typeof firehoseEnvSchema>): FirehoseClientOptions {
  return { endpoint: env.AWS_ENDPOINT_URL_FIREHOSE };
}

/**
 * One client per execution environment. The same code reaches AWS or the runner's endpoint: only
 * the endpoint differs.
 */
export function createFirehoseClient(options: FirehoseClientOptions = {}): FirehoseClient {
  return new FirehoseClient({
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}
