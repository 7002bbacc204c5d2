import { describe, expect, it } from 'vitest';
import { expectedRows } from '../../src/validate.ts';

describe('expectedRows (sizes the duplicate check)', () => {
  it('scales the first batch\'s rows per character to the object\'s size, erring high', () => {
    // 100 MB of ~100-character rows: about a million, and a fifth more for safety.
    expect(expectedRows(100_000_000, 16_384, 164)).toBe(Math.ceil((100_000_000 / 16_384) * 164 * 1.2) + 1_000);
    expect(expectedRows(100_000_000, 16_384, 164)).toBeGreaterThan(1_000_000);
  });

  it('guesses a million rows when the size or the first batch says nothing', () => {
    expect(expectedRows(undefined, 16_384, 164)).toBe(1_000_000);
    expect(expectedRows(100, 0, 0)).toBe(1_000_000);
  });
});
