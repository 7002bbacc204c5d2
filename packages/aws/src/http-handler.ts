import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface SdkHttpHandlerOptions {
  /** Time to open a connection before the attempt fails. */
  connectionTimeoutMs: number;
  /**
   * Time from starting a request — waiting for a socket, connecting, sending its body — to its
   * response's headers before the attempt fails (TimeoutError, retried by the SDK). A call may
   * set its own (`client.send(command, { requestTimeout })`), e.g. for a large body.
   */
  requestTimeoutMs: number;
  /** Keep-alive sockets per host (default 64). */
  maxSockets?: number;
}

/**
 * The SDK's Node HTTP handler with keep-alive sockets (reused by warm invocations) and timeouts
 * that fail the attempt. `throwOnRequestTimeout` is why this exists: since
 * @smithy/node-http-handler 4.x a request past `requestTimeout` only logs a warning unless it is
 * set, so a call that never gets its response would wait until Lambda ends the invocation.
 */
export function sdkHttpHandler(options: SdkHttpHandlerOptions): NodeHttpHandler {
  const maxSockets = options.maxSockets ?? 64;
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    throwOnRequestTimeout: true,
  });
}

/**
 * Client config for SSM Parameter Store and Secrets Manager reads (Powertools Parameters'
 * providers take it as `clientConfig`): a read answers in milliseconds, so one that has not
 * answered in 5 s fails and is retried, instead of holding the invocation for the SDK's default
 * of no limit at all.
 */
export function parameterClientConfig(): { maxAttempts: number; requestHandler: NodeHttpHandler } {
  return { maxAttempts: 3, requestHandler: sdkHttpHandler({ connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, maxSockets: 4 }) };
}
