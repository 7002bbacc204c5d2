import type { Context } from 'aws-lambda';

/**
 * A Lambda context for calling a handler in a test: the fields Lambda passes, and a remaining
 * time that counts down from `remainingMs` in real time (deadline behaviour stays testable).
 */
export function lambdaContext(functionName: string, options: { remainingMs?: number; requestId?: string; memoryMb?: number } = {}): Context {
  const end = Date.now() + (options.remainingMs ?? 30_000);
  return {
    awsRequestId: options.requestId ?? `test-${Math.random().toString(36).slice(2, 10)}`,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: String(options.memoryMb ?? 256),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => end - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
