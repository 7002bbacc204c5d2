import { Tracer } from '@aws-lambda-powertools/tracer';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { lambdaContext } from '../../src/testing.ts';

// As on Lambda with active tracing: Powertools traces only there, and reads this at import.
const { saved } = vi.hoisted(() => {
  const lambdaEnv: Record<string, string> = {
    AWS_LAMBDA_FUNCTION_NAME: 'traced',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    _HANDLER: 'index.handler',
    POWERTOOLS_METRICS_NAMESPACE: 'Test',
    POWERTOOLS_SERVICE_NAME: 'traced',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
  const saved = Object.fromEntries(Object.keys(lambdaEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, lambdaEnv);
  return { saved };
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('a handler traced by X-Ray', () => {
  it('records its result in the trace unless told not to (a presigned URL is a credential)', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const metadata = vi.spyOn(Tracer.prototype, 'putMetadata');
    try {
      const { defineHandler } = await import('../../src/index.ts');
      const url = 'https://documents.s3.amazonaws.com/manifests/req.jsonl?X-Amz-Signature=abc';
      const make = (traceResponse?: boolean) =>
        defineHandler({ config: z.object({}), init: () => ({}), handle: async () => ({ manifestUrl: url }), ...(traceResponse === undefined ? {} : { traceResponse }) });
      await make()({}, lambdaContext('traced'));
      expect(JSON.stringify(metadata.mock.calls)).toContain(url);
      metadata.mockClear();
      await make(false)({}, lambdaContext('traced'));
      expect(JSON.stringify(metadata.mock.calls)).not.toContain(url);
      // A result larger than a segment can carry is noted by its size, not recorded.
      metadata.mockClear();
      const big = defineHandler({ config: z.object({}), init: () => ({}), handle: async () => ({ feeds: Array.from({ length: 500 }, (_, i) => ({ url: `https://feeds.example/${i}`, fetched: 12, status: 200 })) }) });
      await big({}, lambdaContext('traced'));
      const recorded = JSON.stringify(metadata.mock.calls);
      expect(recorded).not.toContain('feeds.example');
      expect(recorded).toMatch(/the response is \d+ bytes of JSON, more than the 16384 a trace segment keeps/);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
