import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTrigger } from '../../src/trigger.ts';

const event = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8')) as unknown;

describe('parseTrigger', () => {
  it('reads an EventBridge scheduled event', () => {
    expect(parseTrigger(event('scheduled.json'))).toEqual({
      kind: 'schedule',
      id: '8f0f3c5e-2b7a-4c1e-9d51-0e6f3a7b9c21',
      time: '2026-11-25T21:05:00Z',
      rule: 'arn:aws:events:us-east-1:123456789012:rule/laminar-dev-polymarket-producer-schedule',
    });
  });

  it('takes {} or no payload as a manual run', () => {
    expect(parseTrigger(event('manual.json'))).toEqual({ kind: 'manual' });
    expect(parseTrigger(undefined)).toEqual({ kind: 'manual' });
    expect(parseTrigger(null)).toEqual({ kind: 'manual' });
  });

  it('refuses anything else as a client error naming what is wrong', () => {
    expect(() => parseTrigger({ maxMarkets: 10 })).toThrow(
      expect.objectContaining({ name: 'InputValidationError', message: expect.stringMatching(/scheduled event, or \{\}.*detail-type/s) }),
    );
    expect(() => parseTrigger({ ...(event('scheduled.json') as object), source: 'aws.s3' })).toThrow(/source/);
    expect(() => parseTrigger([])).toThrow(/InputValidation|invalid event/);
  });
});
