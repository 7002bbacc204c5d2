import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TimeSlices } from '../../src/time-slices.ts';

describe('time slices', () => {
  it('says a turn is due only once its slice has passed, and turn() gives one only then', async () => {
    const slices = new TimeSlices(40);
    expect(slices.due).toBe(false);
    expect(await slices.turn()).toBe(false);
    await sleep(60);
    expect(slices.due).toBe(true);
    expect(await slices.turn()).toBe(true);
    // A new slice starts with the turn.
    expect(slices.due).toBe(false);
  });
});
