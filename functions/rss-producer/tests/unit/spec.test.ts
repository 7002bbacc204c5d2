import { DEDUP_ACTIONS } from '@laminar/dedup';
import { describe, expect, it } from 'vitest';
import spec from '../../spec.ts';
import { validatorTtlSeconds } from '../../src/run.ts';

describe('the spec', () => {
  it('grants on the dedup table every action the dedup store and the feed state call (infra grants exactly what the spec lists)', () => {
    const granted = spec.permissions.filter((p) => 'table' in p.resource && p.resource.table === 'rss-dedup').flatMap((p) => p.actions);
    // Without UpdateItem the store's expiry refresh is refused: an item still listed past the TTL would be produced again.
    // The feed validators (src/feed-state.ts) live in the same table: BatchGetItem and PutItem.
    for (const action of [...DEDUP_ACTIONS, 'dynamodb:BatchGetItem', 'dynamodb:PutItem']) expect(granted, action).toContain(action);
    // And nothing more: a wider grant fails here.
    expect([...new Set(granted)].sort()).toEqual([...new Set([...DEDUP_ACTIONS, 'dynamodb:BatchGetItem', 'dynamodb:PutItem'])].sort());
  });

  it("lets a feed's validators lapse, and the next scheduled run fetch it whole, before the records of the items they hide can", () => {
    const period = Number(/^rate\((\d+) minutes\)$/.exec((spec.triggers[0] as { expression: string }).expression)?.[1]) * 60;
    expect(period).toBeGreaterThan(0);
    // DEDUP_TTL_DAYS is 1..365. After a whole fetch every listed item has at least half its TTL
    // left; the validators saved then must lapse early enough for the next run to start, run
    // and renew those records first.
    for (const days of [1, 2, 7, 30, 365]) {
      const ttl = days * 86_400;
      expect(validatorTtlSeconds(ttl) + period + spec.timeoutS, `${days} days`).toBeLessThan(ttl / 2);
    }
  });
});
