export interface ContextInput {
  requestId: string;
  functionName: string;
  invokedFunctionArn: string;
  memorySizeMb: number;
  logGroupName: string;
  logStreamName: string;
  /** Absolute deadline, epoch milliseconds. */
  deadlineMs: number;
  identity?: unknown;
  clientContext?: unknown;
}

export interface LambdaContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  identity: unknown;
  clientContext: unknown;
  getRemainingTimeInMillis(): number;
}

export function createContext(input: ContextInput, now?: () => number): LambdaContext;
