import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMarket, QUESTION_MAX_CHARS } from '../../src/gamma.ts';
import { conditionIdOf, gammaRecord, tokenIdOf } from '../support/records.ts';

const fixture = (path: string) => JSON.parse(readFileSync(new URL(`../../fixtures/http/${path}`, import.meta.url), 'utf8')) as unknown;

function rejectionOf(raw: unknown): string {
  const r = parseMarket(raw);
  if (r.ok) throw new Error('expected a rejection');
  return r.rejection.reason;
}

describe('parseMarket (Gamma /markets records)', () => {
  it('accepts a full record with ~80 fields it does not use, and decodes the JSON-string arrays', () => {
    const raw = gammaRecord({ id: '700001', question: 'Will it rain?', prices: ['0.615', '0.385'] });
    expect(Object.keys(raw).length).toBeGreaterThan(70);
    const r = parseMarket({ ...raw, someFieldGammaAddsNextYear: { nested: [1, 2] } });
    expect(r).toEqual({
      ok: true,
      market: {
        id: '700001',
        conditionId: conditionIdOf('700001'),
        question: 'Will it rain?',
        slug: 'will-it-rain',
        outcomes: ['Yes', 'No'],
        tokenIds: [tokenIdOf('700001:Yes'), tokenIdOf('700001:No')],
        gammaPrices: [0.615, 0.385],
        updatedAt: new Date('2026-11-25T20:58:41.391Z'),
        volume: 825_001.5,
        liquidity: 18_250.25,
        endDate: '2026-12-31T12:00:00Z',
      },
    });
  });

  it('reads volume and liquidity from their string forms when the numeric ones are absent', () => {
    const { volumeNum: _v, liquidityNum: _l, ...raw } = gammaRecord({ id: '700002', question: 'Q?', volume: 12.5, liquidity: 3 });
    const r = parseMarket(raw);
    expect(r.ok && [r.market.volume, r.market.liquidity]).toEqual([12.5, 3]);
  });

  it('accepts plain arrays where Gamma usually sends JSON strings, and numeric ids', () => {
    const raw = gammaRecord({ id: '700003', question: 'Q?' });
    const r = parseMarket({ ...raw, id: 700003, outcomes: ['Yes', 'No'], outcomePrices: [0.2, '0.8'], clobTokenIds: ['1', '2'] });
    expect(r.ok && r.market).toMatchObject({ id: '700003', outcomes: ['Yes', 'No'], gammaPrices: [0.2, 0.8], tokenIds: ['1', '2'] });
  });

  it('takes outcomePrices as optional: no Gamma price is not a reason to reject', () => {
    const { outcomePrices: _p, ...raw } = gammaRecord({ id: '700004', question: 'Q?' });
    const r = parseMarket(raw);
    expect(r.ok && r.market.gammaPrices).toBeUndefined();
  });

  it('reads timestamps with microseconds and the database form, and refuses one without a zone', () => {
    const at = (updatedAt: string) => {
      const r = parseMarket({ ...gammaRecord({ id: '1', question: 'Q?' }), updatedAt });
      return r.ok ? r.market.updatedAt.toISOString() : r.rejection.reason;
    };
    expect(at('2026-11-25T20:58:41.391224Z')).toBe('2026-11-25T20:58:41.391Z');
    expect(at('2026-11-25 20:58:41.391224+00')).toBe('2026-11-25T20:58:41.391Z');
    expect(at('2026-11-25T22:58:41+02:00')).toBe('2026-11-25T20:58:41.000Z');
    expect(at('2026-11-25 20:58:41.391224+0000')).toBe('2026-11-25T20:58:41.391Z');
    expect(at('2026-11-25T15:28:41.391-0530')).toBe('2026-11-25T20:58:41.391Z');
    expect(at('2026-11-25T20:58:41')).toMatch(/^updatedAt: not an ISO 8601 timestamp with a zone/);
    expect(at('yesterday')).toMatch(/^updatedAt: not an ISO 8601 timestamp/);
  });

  it.each([
    ['conditionId', 'conditionId: missing'],
    ['question', 'question: missing'],
    ['slug', 'slug: missing'],
    ['outcomes', 'outcomes: missing'],
    ['clobTokenIds', 'clobTokenIds: missing'],
    ['updatedAt', 'updatedAt: missing'],
    ['id', 'id: missing'],
  ])('rejects a record without %s, naming it', (field, reason) => {
    const raw = gammaRecord({ id: '700010', question: 'Q?' });
    delete raw[field];
    expect(rejectionOf(raw)).toContain(reason);
    expect(rejectionOf({ ...raw, [field]: null })).toContain(reason);
  });

  it('rejects malformed values with a reason per field', () => {
    const base = gammaRecord({ id: '700011', question: 'Q?' });
    expect(rejectionOf({ ...base, clobTokenIds: '["123", "456"' })).toMatch(/^clobTokenIds: not a JSON-encoded array/);
    expect(rejectionOf({ ...base, clobTokenIds: '["0xabc", "456"]' })).toBe('clobTokenIds.0: token ids are decimal integers');
    expect(rejectionOf({ ...base, conditionId: '0x1234' })).toBe('conditionId: must be 0x followed by 64 hex digits');
    expect(rejectionOf({ ...base, question: '   ' })).toMatch(/^question: /);
    expect(rejectionOf({ ...base, outcomes: '[]' })).toBe('outcomes: has no outcomes; clobTokenIds: has 2 token ids for 0 outcomes');
    expect(rejectionOf({ ...base, clobTokenIds: '["1"]' })).toBe('clobTokenIds: has 1 token ids for 2 outcomes');
    expect(rejectionOf({ ...base, outcomes: '["Yes","Yes"]' })).toBe('outcomes: has repeated outcome names');
    // Part of the dedup key, which DynamoDB caps at 2,048 bytes: one market refused, not the run.
    expect(rejectionOf({ ...base, outcomes: JSON.stringify(['Yes', 'N'.repeat(201)]) })).toBe('outcomes.1: outcome names are at most 200 characters');
    expect(rejectionOf({ ...base, id: '7'.repeat(101) })).toMatch(/^id: .*ids are at most 100 characters/);
    // Every field a tick carries is bounded: one oversized tick would fail every run's flush.
    expect(rejectionOf({ ...base, slug: 's'.repeat(501) })).toBe('slug: slugs are at most 500 characters');
    expect(rejectionOf({ ...base, clobTokenIds: JSON.stringify(['1'.repeat(101), '2']) })).toBe('clobTokenIds.0: token ids are at most 100 digits');
    expect(rejectionOf('not an object')).toMatch(/^\(record\): /);
  });

  it('rejects closed or inactive records that slipped into the active listing', () => {
    const base = gammaRecord({ id: '700012', question: 'Q?' });
    expect(rejectionOf({ ...base, closed: true })).toBe('closed: market is closed');
    expect(rejectionOf({ ...base, active: false })).toBe('active: market is not active');
  });

  it('keeps the id of a rejected record when it has one', () => {
    const raw = gammaRecord({ id: '700013', question: 'Q?' });
    delete raw.conditionId;
    const r = parseMarket(raw);
    expect(r.ok ? undefined : r.rejection.marketId).toBe('700013');
  });

  it('the local fixture set: four usable markets, two rejected records', () => {
    const raws = fixture('gamma/markets.json') as { id: string }[];
    const results = raws.map(parseMarket);
    expect(results.filter((r) => r.ok)).toHaveLength(4);
    // The record goes with its reasons, as Gamma sent it: it is what the function keeps in S3.
    expect(results.flatMap((r) => (r.ok ? [] : [r.rejection]))).toEqual([
      { marketId: '604001', reason: 'conditionId: missing', reasons: ['conditionId: missing'], fields: ['conditionId'], record: raws.find((m) => m.id === '604001') },
      {
        marketId: '604002',
        reason: expect.stringMatching(/^clobTokenIds: not a JSON-encoded array/),
        reasons: [expect.stringMatching(/^clobTokenIds: not a JSON-encoded array/)],
        fields: ['clobTokenIds'],
        record: raws.find((m) => m.id === '604002'),
      },
    ]);
  });
});

describe('parseMarket: bounded text', () => {
  it('cuts an over-long question with a marker, keeping the market and its prices', () => {
    const r = parseMarket({ ...gammaRecord({ id: '700030', question: 'Q?' }), question: `Will ${'it '.repeat(1_000_000)}rain?` });
    expect(r.ok && r.market.question.length).toBe(QUESTION_MAX_CHARS);
    expect(r.ok && r.market.question.endsWith('…')).toBe(true);
    expect(r.ok && r.market.gammaPrices).toHaveLength(2);
    const emoji = parseMarket({ ...gammaRecord({ id: '700031', question: 'Q?' }), question: '😀'.repeat(QUESTION_MAX_CHARS) });
    expect(emoji.ok && emoji.market.question).toBe(`${'😀'.repeat((QUESTION_MAX_CHARS - 2) / 2)}…`);
  });
});

describe('parseMarket: outcomePrices, only a fallback', () => {
  it('keeps the market when outcomePrices cannot be used, without them and saying why', () => {
    const base = gammaRecord({ id: '700040', question: 'Q?' });
    const read = (outcomePrices: unknown) => {
      const r = parseMarket({ ...base, outcomePrices });
      if (!r.ok) throw new Error(`rejected: ${r.rejection.reason}`);
      return [r.market.gammaPrices, r.market.gammaPricesProblem];
    };
    expect(read('[]')).toEqual([undefined, 'outcomePrices: has 0 prices for 2 outcomes']);
    expect(read('["0.2", "0.3", "0.5"]')).toEqual([undefined, 'outcomePrices: has 3 prices for 2 outcomes']);
    expect(read('["1.0000001", "0"]')).toEqual([undefined, expect.stringMatching(/^outcomePrices\.0: .*<=1/)]);
    expect(read('["1.2", "-0.2"]')).toEqual([undefined, expect.stringMatching(/^outcomePrices\.0: /)]);
    expect(read('["n/a", "0.5"]')).toEqual([undefined, 'outcomePrices.0: not a decimal number']);
    expect(read('["0.5", "0.5"')).toEqual([undefined, expect.stringMatching(/^outcomePrices: not a JSON-encoded array/)]);
    // A leading dot is a decimal all the same.
    expect(read('[".5", ".5"]')).toEqual([[0.5, 0.5], undefined]);
    expect(read(null)).toEqual([undefined, undefined]);
  });
});

describe('parseMarket: optional fields', () => {
  it('drops unusable informational fields instead of rejecting the market', () => {
    const raw = { ...gammaRecord({ id: '700020', question: 'Q?' }), volume: null, volumeNum: 'lots', liquidity: -1, liquidityNum: null, endDate: 42, outcomePrices: null };
    const r = parseMarket(raw);
    expect(r.ok && r.market).toMatchObject({ volume: undefined, liquidity: undefined, endDate: undefined, gammaPrices: undefined });
    const longEnd = parseMarket({ ...gammaRecord({ id: '700021', question: 'Q?' }), endDate: '2026'.repeat(500_000) });
    expect(longEnd.ok && longEnd.market.endDate).toBeUndefined();
  });
});
