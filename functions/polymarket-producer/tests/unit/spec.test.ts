import { DEDUP_ACTIONS } from '@laminar/dedup';
import { describe, expect, it } from 'vitest';
import spec from '../../spec.ts';

describe('the spec', () => {
  it('grants on the dedup table every action the dedup store calls (infra grants exactly what the spec lists)', () => {
    const granted = spec.permissions.filter((p) => 'table' in p.resource && p.resource.table === 'polymarket-dedup').flatMap((p) => p.actions);
    // Without UpdateItem the store's expiry refresh is refused: ticks still built after a TTL would be produced again.
    for (const action of DEDUP_ACTIONS) expect(granted, action).toContain(action);
    // And nothing more: a wider grant fails here.
    expect([...new Set(granted)].sort()).toEqual([...new Set(DEDUP_ACTIONS)].sort());
  });
});
