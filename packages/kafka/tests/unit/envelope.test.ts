import { afterEach, describe, expect, it, vi } from 'vitest';
import { envelope } from '../../src/index.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('envelope', () => {
  it('wraps the payload in a versioned JSON envelope with routing headers', () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T12:00:05.250Z') });
    const e = envelope({
      type: 'rss.item',
      source: 'https://example.com/feed.xml',
      id: 'a1b2c3',
      observedAt: new Date('2026-03-01T13:00:00+01:00'),
      payload: { title: 'Ünïcode ✓', categories: ['x'] },
    });
    expect(JSON.parse(e.value)).toEqual({
      schemaVersion: 1,
      type: 'rss.item',
      source: 'https://example.com/feed.xml',
      id: 'a1b2c3',
      observedAt: '2026-03-01T12:00:00.000Z',
      producedAt: '2026-03-01T12:00:05.250Z',
      payload: { title: 'Ünïcode ✓', categories: ['x'] },
    });
    // Field order is part of the format: consumers reading raw logs see the version first.
    expect(Object.keys(JSON.parse(e.value))).toEqual(['schemaVersion', 'type', 'source', 'id', 'observedAt', 'producedAt', 'payload']);
    expect(e.headers).toEqual({
      'content-type': 'application/json',
      'schema-version': '1',
      source: 'https://example.com/feed.xml',
      type: 'rss.item',
      id: 'a1b2c3',
    });
  });

  it('carries an explicit schema version', () => {
    const e = envelope({ type: 't', source: 's', id: 'i', observedAt: new Date(0), payload: null, schemaVersion: 3 });
    expect(JSON.parse(e.value)).toMatchObject({ schemaVersion: 3, observedAt: '1970-01-01T00:00:00.000Z', payload: null });
    expect(e.headers['schema-version']).toBe('3');
  });

  it('refuses an invalid observation time or version', () => {
    expect(() => envelope({ type: 't', source: 's', id: 'i', observedAt: new Date('nope'), payload: 1 })).toThrow(RangeError);
    expect(() => envelope({ type: 't', source: 's', id: 'i', observedAt: new Date(), payload: 1, schemaVersion: 0 })).toThrow(
      /schemaVersion/,
    );
  });
});
