import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';

const base = { LAKE_BUCKET: 'lake-bucket', IDEMPOTENCY_TABLE: 'idempotency-table' };

describe('csv-validator config', () => {
  it('keeps idempotency records at least as long as Lambda’s longest run: a record expired under a live run would let a duplicate redo it', () => {
    expect(configSchema.parse(base).IDEMPOTENCY_EXPIRY_SECONDS).toBe(86_400);
    expect(configSchema.parse({ ...base, IDEMPOTENCY_EXPIRY_SECONDS: '900' }).IDEMPOTENCY_EXPIRY_SECONDS).toBe(900);
    expect(configSchema.safeParse({ ...base, IDEMPOTENCY_EXPIRY_SECONDS: '300' }).success).toBe(false);
  });
});
