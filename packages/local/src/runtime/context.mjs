// Plain JavaScript: the execution environment (a child process) runs it without a TypeScript loader.

/**
 * The Lambda context object handed to a handler. The deadline is absolute (epoch ms), as Lambda's
 * runtime API gives it, so the remaining time stays right however long the handler has been running.
 * @param {import('./context.d.mts').ContextInput} input
 * @param {() => number} [now]
 */
export function createContext(input, now = Date.now) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: input.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: input.invokedFunctionArn,
    // Lambda passes the memory size as a string.
    memoryLimitInMB: String(input.memorySizeMb),
    awsRequestId: input.requestId,
    logGroupName: input.logGroupName,
    logStreamName: input.logStreamName,
    identity: input.identity,
    clientContext: input.clientContext,
    getRemainingTimeInMillis() {
      return Math.max(0, input.deadlineMs - now());
    },
  };
}
