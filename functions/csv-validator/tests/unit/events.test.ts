import { readFileSync } from 'node:fs';
import { parseS3Event } from '@laminar/aws';
import { describe, expect, it } from 'vitest';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8')) as unknown;

describe('the sample events', () => {
  it('EventBridge "Object Created": one object', () => {
    expect(parseS3Event(sample('eventbridge-object-created.json'))).toEqual([
      {
        bucket: 'laminar-local-lake',
        key: 'bronze/orders/2026-11-25/orders.csv',
        size: 1024,
        etag: '0e3c4b6a1d1f1b2c3d4e5f60718293a4',
        sequencer: '00674460D0A6B1C2D3',
        eventTime: '2026-11-25T12:00:00.000Z',
        eventName: 'Object Created:PutObject',
        source: 'eventbridge',
      },
    ]);
  });

  it('a classic notification: several objects, keys form-decoded ("+" is a space, %2B a plus)', () => {
    expect(parseS3Event(sample('s3-notification.json')).map((r) => r.key)).toEqual([
      'bronze/exports/Q4 2026/orders été.csv',
      'bronze/c++ team/orders+2026.csv',
    ]);
  });
});
