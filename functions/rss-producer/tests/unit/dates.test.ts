import { describe, expect, it } from 'vitest';
import { parseFeedDate } from '../../src/dates.ts';

const iso = (raw: string) => parseFeedDate(raw)?.toISOString() ?? null;

describe('parseFeedDate', () => {
  it.each([
    // RFC 822 / 1123 / 2822, as RSS 2.0 feeds write them (and bend them)
    ['Wed, 25 Nov 2026 18:40:00 GMT', '2026-11-25T18:40:00.000Z'],
    ['Wed, 25 Nov 2026 19:05:00 +0100', '2026-11-25T18:05:00.000Z'],
    ['Wed, 25 Nov 2026 12:00:00 EST', '2026-11-25T17:00:00.000Z'],
    ['Wed, 01 Jul 2026 12:00:00 PDT', '2026-07-01T19:00:00.000Z'],
    ['25 Nov 2026 14:30 -0500', '2026-11-25T19:30:00.000Z'],
    ['Wed, 25 Nov 26 09:15:00 GMT', '2026-11-25T09:15:00.000Z'],
    ['Thu, 01 Jan 98 00:00:00 GMT', '1998-01-01T00:00:00.000Z'],
    ['wednesday, 25 november 2026 09:15:00 ut', '2026-11-25T09:15:00.000Z'],
    ['Wed, 5 Nov 2026 9:05:00 +05:30', '2026-11-05T03:35:00.000Z'],
    ['Wed, 25 Nov 2026 09:15:00 (CET)', '2026-11-25T08:15:00.000Z'],
    ['Wed, 25 Nov 2026 09:15:00', '2026-11-25T09:15:00.000Z'],
    ['Wed, 25 Nov 2026 09:15:00 -0500 (EST)', '2026-11-25T14:15:00.000Z'],
    ['Wed, 1 Jul 2026 09:15:00 -0400 (EDT)', '2026-07-01T13:15:00.000Z'],
    // ISO 8601 / W3C-DTF (Atom, dc:date), also found in pubDate
    ['2026-11-25T08:00:00Z', '2026-11-25T08:00:00.000Z'],
    ['2026-11-24T23:10:00+09:00', '2026-11-24T14:10:00.000Z'],
    ['2026-11-24T10:15+02:00', '2026-11-24T08:15:00.000Z'],
    ['2026-11-23T21:45:10.250Z', '2026-11-23T21:45:10.250Z'],
    ['2026-11-24T09:00:00.000+0000', '2026-11-24T09:00:00.000Z'],
    ['2026-11-24 09:00:00', '2026-11-24T09:00:00.000Z'],
    ['2026-11-25', '2026-11-25T00:00:00.000Z'],
    ['  2026-11-25T08:00:00z  ', '2026-11-25T08:00:00.000Z'],
    ['2026-12-31T24:00:00Z', '2027-01-01T00:00:00.000Z'],
  ])('%s → %s', (raw, expected) => {
    expect(iso(raw)).toBe(expected);
  });

  it.each([
    'yesterday afternoon',
    '',
    '   ',
    '2026-02-30',
    '31 Apr 2026 10:00:00 GMT',
    '2026-13-01T00:00:00Z',
    'Wed, 25 Foo 2026 10:00:00 GMT',
    '11/25/2026',
    '1712345678',
    '2026-11-25T25:00:00Z',
    // Zone names it does not know: India or Ireland? UTC would be hours off.
    'Wed, 25 Nov 2026 09:15:00 IST',
    'Wed, 25 Nov 2026 09:15:00 SGT',
    'Wed, 25 Nov 2026 09:15:00 A',
  ])('refuses %j rather than guess', (raw) => {
    expect(parseFeedDate(raw)).toBeNull();
  });

  it('reads the same instant whatever the machine time zone (no local-time fallback)', () => {
    expect(parseFeedDate(undefined)).toBeNull();
    expect(parseFeedDate(null)).toBeNull();
    // Date.parse would read this in local time; the rule here is UTC.
    expect(iso('2026-06-01T12:00:00')).toBe('2026-06-01T12:00:00.000Z');
  });
});
