import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimeSlices } from '../../src/time-slices.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('time slices', () => {
  it('says a turn is due only once its slice has passed, and turn() gives one only then', async () => {
    // The clock moves only when the test moves it: a loaded machine's pauses decide nothing.
    let now = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const slices = new TimeSlices(40);
    expect(slices.due).toBe(false);
    expect(await slices.turn()).toBe(false);
    now += 39;
    expect(slices.due).toBe(false);
    now += 1;
    expect(slices.due).toBe(true);
    let gaveTurn = false;
    setImmediate(() => {
      gaveTurn = true;
    });
    expect(await slices.turn()).toBe(true);
    expect(gaveTurn).toBe(true);
    // A new slice starts with the turn.
    expect(slices.due).toBe(false);
    now += 40;
    expect(slices.due).toBe(true);
  });
});
