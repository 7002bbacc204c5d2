import { describe, expect, it } from 'vitest';
import { type Market, parseMarket } from '../../src/gamma.ts';
import { buildTicks, outcomeKey, type PriceTick, TICK_TYPE, tickId, tickState, toMessage } from '../../src/ticks.ts';
import { gammaRecord, tokenIdOf } from '../support/records.ts';

function market(id: string, overrides: Parameters<typeof gammaRecord>[0] | object = {}): Market {
  const r = parseMarket({ ...gammaRecord({ id, question: `Question ${id}?`, prices: ['0.6', '0.4'] }), ...overrides });
  if (!r.ok) throw new Error(r.rejection.reason);
  return r.market;
}

const FETCHED = new Date('2026-11-25T21:05:03.250Z');

describe('buildTicks', () => {
  it('gives one tick per outcome, preferring the CLOB midpoint and saying which source priced it', () => {
    const m = market('1');
    const clob = new Map([[tokenIdOf('1:Yes'), 0.615]]);
    const built = buildTicks([m], clob, FETCHED);
    expect(built.fromClob).toBe(1);
    expect(built.fromGamma).toBe(1);
    expect(built.unpriced).toEqual([]);
    expect(built.ticks).toEqual([
      {
        marketId: '1',
        conditionId: m.conditionId,
        question: 'Question 1?',
        slug: 'question-1',
        outcome: 'Yes',
        outcomeIndex: 0,
        tokenId: tokenIdOf('1:Yes'),
        price: 0.615,
        priceSource: 'clob-midpoint',
        observedAt: '2026-11-25T20:58:41.391Z',
        fetchedAt: '2026-11-25T21:05:03.250Z',
        volume: m.volume,
        liquidity: 18_250.25,
        endDate: '2026-12-31T12:00:00Z',
      },
      expect.objectContaining({ outcome: 'No', outcomeIndex: 1, tokenId: tokenIdOf('1:No'), price: 0.4, priceSource: 'gamma-outcome-prices' }),
    ]);
  });

  it('counts outcomes nobody priced instead of inventing a price', () => {
    const m = market('2', { outcomePrices: undefined });
    const built = buildTicks([m], new Map([[tokenIdOf('2:No'), 0.3]]), FETCHED);
    expect(built.ticks.map((t) => [t.outcome, t.price])).toEqual([['No', 0.3]]);
    expect(built.unpriced).toEqual([{ marketId: '2', outcome: 'Yes' }]);
  });

  it('accepts a price of exactly 0 or 1 from either source', () => {
    const m = market('3', { outcomePrices: '["1", "0"]' });
    const built = buildTicks([m], new Map([[tokenIdOf('3:No'), 0]]), FETCHED);
    expect(built.ticks.map((t) => [t.price, t.priceSource])).toEqual([
      [1, 'gamma-outcome-prices'],
      [0, 'clob-midpoint'],
    ]);
  });

  it('leaves out volume and liquidity when Gamma had none', () => {
    const m = market('4', { volume: undefined, volumeNum: undefined, liquidity: undefined, liquidityNum: undefined });
    const [tick] = buildTicks([m], new Map(), FETCHED).ticks;
    expect(tick).not.toHaveProperty('volume');
    expect(tick).not.toHaveProperty('liquidity');
  });
});

describe('tick ids and messages', () => {
  const [yes, no] = buildTicks([market('5')], new Map(), FETCHED).ticks as [PriceTick, PriceTick];

  it("states a tick by market, outcome, price timestamp and price, a price from Gamma's copy apart; its id adds the change's number", () => {
    const clob = new Map([
      [tokenIdOf('5:Yes'), 0.7],
      [tokenIdOf('5:No'), 0.3],
    ]);
    const [clobYes, clobNo] = buildTicks([market('5')], clob, FETCHED).ticks as [PriceTick, PriceTick];
    expect(tickState(clobYes)).toBe('5:Yes:2026-11-25T20:58:41.391Z:0.7');
    expect(tickState(clobNo)).toBe('5:No:2026-11-25T20:58:41.391Z:0.3');
    expect([outcomeKey(clobYes), outcomeKey(clobNo)]).toEqual(['5:Yes', '5:No']);
    expect(tickId(clobYes, 3)).toBe('5:Yes:2026-11-25T20:58:41.391Z:0.7#3');
    // The same market record read again (a retry, an overlapping run) gives the same states...
    expect(buildTicks([market('5')], clob, new Date()).ticks.map(tickState)).toEqual([tickState(clobYes), tickState(clobNo)]);
    // ...and a newer record new ones.
    const newer = buildTicks([market('5', { updatedAt: '2026-11-25T21:03:00.000001Z' })], clob, FETCHED).ticks;
    expect(newer.map(tickState)).toEqual(['5:Yes:2026-11-25T21:03:00.000Z:0.7', '5:No:2026-11-25T21:03:00.000Z:0.3']);
    // The CLOB's midpoint moved while Gamma's record (its updatedAt) did not: new states.
    const moved = buildTicks([market('5')], new Map([[tokenIdOf('5:Yes'), 0.72], [tokenIdOf('5:No'), 0.28]]), FETCHED).ticks;
    expect(moved.map(tickState)).toEqual(['5:Yes:2026-11-25T20:58:41.391Z:0.72', '5:No:2026-11-25T20:58:41.391Z:0.28']);
    // Gamma's copy (the CLOB failed) does not take the state the CLOB's price of that record gets.
    expect([tickState(yes), tickState(no)]).toEqual(['5:Yes:2026-11-25T20:58:41.391Z:0.6:gamma', '5:No:2026-11-25T20:58:41.391Z:0.4:gamma']);
  });

  it('keys the message by market id and wraps the tick in the shared envelope', () => {
    const target = { topic: 'polymarket-prices', gammaUrl: 'https://gamma-api.polymarket.com', clobUrl: 'https://clob.polymarket.com' };
    const clobTick: PriceTick = { ...yes, priceSource: 'clob-midpoint' };
    const m = toMessage(clobTick, 2, target);
    expect(m.topic).toBe('polymarket-prices');
    expect(m.key).toBe('5');
    expect(m.headers).toEqual({
      'content-type': 'application/json',
      'schema-version': '1',
      source: 'https://clob.polymarket.com',
      type: TICK_TYPE,
      id: '5:Yes:2026-11-25T20:58:41.391Z:0.6#2',
    });
    const value = JSON.parse(m.value as string);
    expect(value).toMatchObject({
      schemaVersion: 1,
      type: 'polymarket.price_tick',
      source: 'https://clob.polymarket.com',
      id: '5:Yes:2026-11-25T20:58:41.391Z:0.6#2',
      observedAt: '2026-11-25T20:58:41.391Z',
      producedAt: expect.any(String),
      payload: { ...clobTick, change: 2 },
    });
    expect(toMessage(no, 1, target).headers?.source).toBe('https://gamma-api.polymarket.com');
  });
});
