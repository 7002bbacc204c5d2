import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface Call {
  op: string;
  // biome-ignore lint/suspicious/noExplicitAny: wire-format JSON, inspected loosely by tests
  input: any;
}
/** A wire-format answer: a body, or a DynamoDB error by its short name. */
export type Answer = { body: unknown } | { error: string; body?: Record<string, unknown> };
// biome-ignore lint/suspicious/noExplicitAny: wire-format JSON
export type Handler = (op: string, input: any, calls: Call[]) => Answer | Promise<Answer>;

/**
 * A real DynamoDBClient whose HTTP handler answers from `handler`: the SDK and lib-dynamodb
 * (marshalling, error parsing) run as in production, only the server is scripted.
 */
export function stubClient(handler: Handler): { client: DynamoDBClient; calls: Call[] } {
  const calls: Call[] = [];
  const requestHandler = {
    async handle(request: { headers: Record<string, string>; body?: Uint8Array | string }) {
      const op = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const body = request.body ?? '{}';
      // The SDK hands over bytes; decode them as bytes (its string-compat view warns when used as a string).
      const input = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
      calls.push({ op, input });
      const answer = await handler(op, input, calls);
      const error = 'error' in answer;
      const payload = error
        ? { __type: `com.amazonaws.dynamodb.v20120810#${answer.error}`, message: answer.error, ...answer.body }
        : answer.body;
      return {
        response: {
          statusCode: error ? 400 : 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from(JSON.stringify(payload))]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://stub.invalid',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
    requestHandler,
  });
  return { client, calls };
}

/** Wire-format item as the dedup table stores it. */
export function wireItem(pk: string, status: 'pending' | 'done', expiresAt: number, leaseUntil?: number) {
  return {
    pk: { S: pk },
    status: { S: status },
    expiresAt: { N: String(expiresAt) },
    ...(leaseUntil === undefined ? {} : { leaseUntil: { N: String(leaseUntil) } }),
  };
}
