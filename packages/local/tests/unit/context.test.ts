import { describe, expect, it } from 'vitest';
import { createContext } from '../../src/runtime/context.mjs';
import { toInitError, toLambdaError } from '../../src/runtime/errors.mjs';

const input = {
  requestId: 'req-1',
  functionName: 'fn',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
  memorySizeMb: 256,
  logGroupName: '/aws/lambda/fn',
  logStreamName: '2026/01/01/[$LATEST]abc',
  deadlineMs: 10_000,
};

describe('Lambda context', () => {
  it('computes the remaining time from the absolute deadline, never below zero', () => {
    let now = 4_000;
    const ctx = createContext(input, () => now);
    expect(ctx.getRemainingTimeInMillis()).toBe(6_000);
    now = 9_999;
    expect(ctx.getRemainingTimeInMillis()).toBe(1);
    now = 12_000;
    expect(ctx.getRemainingTimeInMillis()).toBe(0);
  });

  it('carries Lambda fields, memory as a string', () => {
    const ctx = createContext(input, () => 0);
    expect(ctx).toMatchObject({
      awsRequestId: 'req-1',
      functionName: 'fn',
      functionVersion: '$LATEST',
      invokedFunctionArn: input.invokedFunctionArn,
      memoryLimitInMB: '256',
      logGroupName: '/aws/lambda/fn',
      logStreamName: '2026/01/01/[$LATEST]abc',
      callbackWaitsForEmptyEventLoop: true,
    });
  });
});

describe('error bodies', () => {
  it('reports an Error by its name, message and stack lines', () => {
    class ValidationError extends Error {
      override name = 'ValidationError';
    }
    const body = toLambdaError(new ValidationError('amount must be positive'));
    expect(body.errorType).toBe('ValidationError');
    expect(body.errorMessage).toBe('amount must be positive');
    expect(body.trace[0]).toBe('ValidationError: amount must be positive');
  });

  it('reports a thrown non-Error by its type', () => {
    expect(toLambdaError('nope')).toEqual({ errorType: 'string', errorMessage: 'nope', trace: [] });
  });

  it('names module load failures as Lambda does', () => {
    const missing = Object.assign(new Error("Cannot find package 'x'"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(toInitError(missing).errorType).toBe('Runtime.ImportModuleError');
    expect(toInitError(missing).errorMessage).toBe("Error: Cannot find package 'x'");
    expect(toInitError(new SyntaxError('Unexpected token')).errorType).toBe('Runtime.UserCodeSyntaxError');
    expect(toInitError(new TypeError('bad config')).errorType).toBe('TypeError');
  });
});
