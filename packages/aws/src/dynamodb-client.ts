import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { envEndpointUrl } from '@laminar/runtime';
import { z } from 'zod';
import { sdkHttpHandler } from './http-handler.ts';

/** The part of a function's environment that says how to reach DynamoDB. */
export const dynamoEnvSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** The SDK's own per-service endpoint variable: the runner sets it, AWS leaves it unset. */
  AWS_ENDPOINT_URL_DYNAMODB: envEndpointUrl.optional(),
  /** The SDK's endpoint for every service, which it honours too when the per-service one is unset. */
  AWS_ENDPOINT_URL: envEndpointUrl.optional(),
});
export type DynamoEnv = z.output<typeof dynamoEnvSchema>;

export interface DynamoClientOptions {
  region: string;
  endpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxSockets?: number;
}

export function dynamoOptionsFromEnv(env: DynamoEnv): DynamoClientOptions {
  return { region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL };
}

/**
 * One DynamoDB client per execution environment: keep-alive sockets serve warm invocations, and
 * short timeouts with the SDK's adaptive retries keep a throttled table from eating the deadline.
 */
export function createDynamoDBClient(options: DynamoClientOptions): DynamoDBClient {
  const maxSockets = options.maxSockets ?? 64;
  return new DynamoDBClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 5,
    retryMode: 'adaptive',
    requestHandler: sdkHttpHandler({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxSockets }),
  });
}
