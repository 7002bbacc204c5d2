import { MIN_PART_SIZE } from '@laminar/aws';
import { describe, expect, it } from 'vitest';
import { MAX_FILTER_BYTES } from '../../src/duplicates.ts';
import { silverBuffers } from '../../src/validate.ts';

describe('silverBuffers', () => {
  it('gives silver a third part buffer only when the filter leaves room for it in the budget', () => {
    // A 100 MB file's filter (~1.8 MB): three buffers.
    expect(silverBuffers(1_800_000, MIN_PART_SIZE)).toBe(3);
    expect(silverBuffers(MAX_FILTER_BYTES - MIN_PART_SIZE, MIN_PART_SIZE)).toBe(3);
    // One byte more, or the largest filter (files past ~750 MB, or a warm environment that kept one): two.
    expect(silverBuffers(MAX_FILTER_BYTES - MIN_PART_SIZE + 1, MIN_PART_SIZE)).toBe(2);
    expect(silverBuffers(MAX_FILTER_BYTES, MIN_PART_SIZE)).toBe(2);
    // Larger parts leave room sooner.
    expect(silverBuffers(MAX_FILTER_BYTES - MIN_PART_SIZE, 2 * MIN_PART_SIZE)).toBe(2);
  });
});
