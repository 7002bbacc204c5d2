import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../src/concurrency.ts';

describe('mapLimit', () => {
  it('keeps the input order with at most `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 2, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(most).toBe(2);
  });

  it('refuses a limit that would run nothing (it returned holes as if every item were done)', async () => {
    for (const limit of [0, -1, Number.NaN, 0.5]) {
      await expect(mapLimit([1, 2, 3], limit, async (n) => n)).rejects.toThrow(RangeError);
    }
  });
});
