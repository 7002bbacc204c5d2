import { describe, expect, it } from 'vitest';
import { dedupEnvSchema } from '../../src/config.ts';
import { DEDUP_ACTIONS, dedupSpec } from '../../src/spec.ts';

describe('dedupSpec', () => {
  const spec = dedupSpec({ table: 'feed-dedup', ttlDays: 30 });

  it('grants the stores their actions on the one table, and nothing else', () => {
    expect(spec.permission).toEqual({ actions: [...DEDUP_ACTIONS], resource: { table: 'feed-dedup' } });
    expect(spec.table).toEqual({ name: 'feed-dedup', kind: 'dedup' });
  });

  it('declares the environment dedupEnvSchema reads back', () => {
    expect(spec.env).toEqual({ DEDUP_TABLE: { ref: { table: 'feed-dedup' } }, DEDUP_TTL_DAYS: '30' });
    // As infra and the local runner resolve the reference: to the table's name.
    expect(dedupEnvSchema.parse({ ...spec.env, DEDUP_TABLE: 'laminar-dev-feed-dedup' })).toEqual({ DEDUP_TABLE: 'laminar-dev-feed-dedup', DEDUP_TTL_DAYS: 30 });
  });

  it('refuses a lifetime outside 1–365 days, and a missing table, by name', () => {
    expect(() => dedupEnvSchema.parse({ DEDUP_TABLE: 'laminar-dev-feed-dedup', DEDUP_TTL_DAYS: '0' })).toThrow(/DEDUP_TTL_DAYS/);
    expect(() => dedupEnvSchema.parse({ DEDUP_TABLE: 'laminar-dev-feed-dedup', DEDUP_TTL_DAYS: '366' })).toThrow(/DEDUP_TTL_DAYS/);
    expect(() => dedupEnvSchema.parse({})).toThrow(/DEDUP_TABLE/);
  });
});
